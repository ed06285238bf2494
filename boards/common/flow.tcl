# Shared by the Vivado scripts of boards/common/ (block_design.tcl, bitstream.tcl, package_rtl_ip.tcl): the
# environment they run in, the board include generated from boards/<board>/board.yaml, the accelerator table
# (accel.tcl) and what the flow knows about the Zynq UltraScale+ PS. Nothing board-specific is written here: the
# part, board part, clock, ports and DMA settings all come from the board include.
#
# Environment (boards/Makefile sets it; the same variables run the scripts by hand):
#   SPVIT_BOARD_TCL  the board include: `python -m spvit.hw_build tcl --board <board> --out <file>` writes it
#   SPVIT_IMPL       hls | rtl (block_design.tcl, bitstream.tcl)
#   SPVIT_BUILD      the board's build folder (default <repo>/build/<board>)
#   SPVIT_OUT        where bitstream.tcl puts spvit.bit / spvit.hwh (default SPVIT_BUILD)

proc spvit_env {name {default ""}} {
    if {[info exists ::env($name)] && $::env($name) ne ""} { return $::env($name) }
    return $default
}

proc spvit_require_env {name what} {
    set value [spvit_env $name]
    if {$value eq ""} { error "spvit: set $name to $what" }
    return $value
}

set spvit_common [file dirname [file normalize [info script]]]
set spvit_repo [file dirname [file dirname $spvit_common]]
set spvit_board_tcl [file normalize [spvit_require_env SPVIT_BOARD_TCL \
    "the board include (python -m spvit.hw_build tcl --board <board> --out <file>)"]]
if {![file exists $spvit_board_tcl]} { error "spvit: board include $spvit_board_tcl is missing" }
source $spvit_board_tcl
source [file join $spvit_common accel.tcl]
set spvit_build [file normalize [spvit_env SPVIT_BUILD [file join $spvit_repo build $spvit_board]]]

# The PS's AXI ports by their block-design name: {the suffix of its PSU__USE__ property, the prefix of its
# __DATA_WIDTH property, its clock pin}. board.yaml names ports this way (spvit.hw_build validates the names).
set spvit_ps_ports {
    M_AXI_HPM0_FPD {M_AXI_GP0 MAXIGP0 maxihpm0_fpd_aclk}
    M_AXI_HPM1_FPD {M_AXI_GP1 MAXIGP1 maxihpm1_fpd_aclk}
    M_AXI_HPM0_LPD {M_AXI_GP2 MAXIGP2 maxihpm0_lpd_aclk}
    S_AXI_HPC0_FPD {S_AXI_GP0 SAXIGP0 saxihpc0_fpd_aclk}
    S_AXI_HPC1_FPD {S_AXI_GP1 SAXIGP1 saxihpc1_fpd_aclk}
    S_AXI_HP0_FPD  {S_AXI_GP2 SAXIGP2 saxihp0_fpd_aclk}
    S_AXI_HP1_FPD  {S_AXI_GP3 SAXIGP3 saxihp1_fpd_aclk}
    S_AXI_HP2_FPD  {S_AXI_GP4 SAXIGP4 saxihp2_fpd_aclk}
    S_AXI_HP3_FPD  {S_AXI_GP5 SAXIGP5 saxihp3_fpd_aclk}
}
set spvit_ps_masters {M_AXI_HPM0_FPD M_AXI_HPM1_FPD M_AXI_HPM0_LPD}

proc spvit_impl {} {
    set impl [spvit_require_env SPVIT_IMPL "hls or rtl"]
    if {![dict exists $::spvit_accel $impl]} { error "spvit: SPVIT_IMPL must be one of [dict keys $::spvit_accel] (got '$impl')" }
    return $impl
}

proc spvit_kernels {impl} { return [dict get $::spvit_accel $impl] }

# Where the kernels' IP catalog folders are: the Vitis HLS flow's impl/ip folder (hw/hls/vitis/build_prj.tcl run with
# SPVIT_HLS_BUILD=<build>/hls), or the folder package_rtl_ip.tcl packs each RTL top into.
proc spvit_ip_dir {impl kernel} {
    if {$impl eq "hls"} { return [file join $::spvit_build hls $kernel spvit_$kernel sol impl ip] }
    return [file join $::spvit_build rtl_ip $kernel]
}

proc spvit_project_dir {impl} { return [file join $::spvit_build vivado_$impl] }

# Index of a pl_clkN / pl_ps_irqN pin.
proc spvit_pin_index {pin} {
    if {![regexp {(\d+)$} $pin -> n]} { error "spvit: no index in PS pin name '$pin'" }
    return $n
}

# Write a small text file (stamps, manifests).
proc spvit_write {path text} {
    file mkdir [file dirname $path]
    set fh [open $path w]
    puts $fh $text
    close $fh
}
