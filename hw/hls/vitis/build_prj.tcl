# Vitis HLS flow of one IP core of hw/hls/ for the ZCU102: C simulation, C synthesis, C/RTL co-simulation and export
# to the Vivado IP catalog. Generic: what differs between IPs is data in ips.tcl, and the design / testbench files
# follow from the IP's name (ips.tcl says which). Run through the Makefile, which first dumps the golden vectors:
#
#   make hls-ip-<ip>                                   (make hls-ip: every IP)
#
# or by hand, after `python -m spvit.sim.hls_vectors --top <ip> --out build/hls/vitis/<ip>/vectors`:
#
#   SPVIT_HLS_IP=<ip> vitis-run --mode hls --tcl hw/hls/vitis/build_prj.tcl      (Vitis 2023.2 and later)
#   SPVIT_HLS_IP=<ip> vitis_hls -f hw/hls/vitis/build_prj.tcl                    (Vitis HLS 2020.2 to 2024.x)
#
# Environment:
#   SPVIT_HLS_IP       the IP (a key of ips.tcl; required)
#   SPVIT_HLS_BUILD    output folder (default <repo>/build/hls/vitis)
#   SPVIT_HLS_VECTORS  folder holding <ip>.vec (default $SPVIT_HLS_BUILD/<ip>/vectors)
#   SPVIT_HLS_STEPS    which of csim csynth cosim export to run (default all four, in that order)
# Outputs: the project $SPVIT_HLS_BUILD/<ip>/spvit_<ip>/ (solution `sol`: csim/, syn/report/, sim/, impl/ip/ -- the
# unpacked IP catalog folder), and the IP archive $SPVIT_HLS_BUILD/ip/<ip>.zip.

set vitis_dir [file dirname [file normalize [info script]]]
set hls_dir [file dirname $vitis_dir]
set repo [file dirname [file dirname $hls_dir]]
source [file join $vitis_dir ips.tcl]

proc spvit_env {name default} {
    if {[info exists ::env($name)] && $::env($name) ne ""} { return $::env($name) }
    return $default
}

set ip [spvit_env SPVIT_HLS_IP ""]
if {![dict exists $spvit_ips $ip]} {
    error "spvit: set SPVIT_HLS_IP to one of: [dict keys $spvit_ips] (got '$ip')"
}
set top [dict get $spvit_ips $ip top]
set build [file normalize [spvit_env SPVIT_HLS_BUILD [file join $repo build hls vitis]]]
set vectors [file normalize [spvit_env SPVIT_HLS_VECTORS [file join $build $ip vectors]]]
set steps [spvit_env SPVIT_HLS_STEPS {csim csynth cosim export}]
foreach step $steps {
    if {$step ni {csim csynth cosim export}} { error "spvit: unknown step '$step' in SPVIT_HLS_STEPS" }
}

# The ZCU102's part and the accelerator's 300 MHz clock (boards/zcu102/board.yaml; tests/test_hls_vitis.py checks
# that these agree with it).
set part [spvit_env SPVIT_HLS_PART xczu9eg-ffvb1156-2-e]
set period [spvit_env SPVIT_HLS_PERIOD 3.33]

# C++14 as in the g++ builds of the testbenches; SPVIT_AXIS_SIDEBAND: hls::axis beats (TLAST, TKEEP, TSTRB).
set cflags "-std=c++14 -DSPVIT_AXIS_SIDEBAND -I$hls_dir -I[file join $vitis_dir tops]"
set tb_cflags "$cflags -I[file join $vitis_dir tb]"
set design [file join $vitis_dir tops $ip.cpp]
set headers [concat [lsort [glob -directory $hls_dir *.hpp]] [list [file join $vitis_dir tops spvit_ip.hpp]]]
set testbench [list [file join $vitis_dir tb ${ip}_tb.cpp] [file join $vitis_dir tb tb_common.hpp]]
set vector_file [file join $vectors $ip.vec]
set simulate [expr {"csim" in $steps || "cosim" in $steps}]
if {$simulate && ![file exists $vector_file]} {
    error "spvit: $vector_file is missing: python -m spvit.sim.hls_vectors --top $ip --out $vectors"
}

file mkdir [file join $build $ip]
cd [file join $build $ip]
open_project -reset spvit_$ip
set_top $top
add_files $design -cflags $cflags
foreach header $headers { add_files $header }
foreach file $testbench { add_files -tb $file -cflags $tb_cflags }
# copied into the simulations' working folders, where the testbench opens it by name
if {$simulate} { add_files -tb $vector_file }
open_solution -reset sol -flow_target vivado
set_part $part
create_clock -period $period -name default

if {"csim" in $steps} { csim_design }
if {"csynth" in $steps} { csynth_design }
if {"cosim" in $steps} { cosim_design }
if {"export" in $steps} {
    export_design -format ip_catalog -vendor spvit -library hls -version 1.0 -ipname $ip \
        -display_name "spvit $ip" -description "[dict get $spvit_ips $ip description] (docs/arithmetic.md [dict get $spvit_ips $ip section])"
    # the archive: impl/ip/<vlnv>.zip up to Vitis HLS 2022.1, impl/export.zip from 2022.2
    set archives [glob -nocomplain [file join spvit_$ip sol impl ip *.zip] [file join spvit_$ip sol impl export.zip]]
    if {[llength $archives] == 0} { error "spvit: export_design left no IP archive under spvit_$ip/sol/impl" }
    file mkdir [file join $build ip]
    file copy -force [lindex $archives 0] [file join $build ip $ip.zip]
    puts "spvit: IP $ip -> [file join $build ip $ip.zip] (catalog folder [file join $build $ip spvit_$ip sol impl ip])"
}
exit
