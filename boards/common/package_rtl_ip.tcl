# Package one RTL top of hw/rtl/ as a Vivado IP-catalog IP (ipx::package_project) for the `--impl rtl` block design:
# VLNV spvit:rtl:<top>:1.0, the sources it uses copied into the IP, bus interfaces inferred from the port prefixes
# (s_axil_* AXI4-Lite slave, m_axi_* AXI4 master, s_axis_* / m_axis_* AXI-Stream), all on clock `clk` with the
# active-high synchronous reset `rst`. Run through boards/Makefile (`make -C boards BOARD=<board> IMPL=rtl rtl_ip`),
# or by hand:
#
#   SPVIT_BOARD_TCL=build/zcu102/board.tcl SPVIT_RTL_TOP=encoder_block vivado -mode batch -source boards/common/package_rtl_ip.tcl
#
# Environment (besides flow.tcl's): SPVIT_RTL_TOP, the module (hw/rtl/<top>.sv).
# Output: <build>/rtl_ip/<top>/ (component.xml, src/, xgui/), the folder block_design.tcl adds to ip_repo_paths.

source [file join [file dirname [file normalize [info script]]] flow.tcl]

set top [spvit_require_env SPVIT_RTL_TOP "the RTL top to package (a module of hw/rtl/)"]
set rtl_dir [file join $spvit_repo hw rtl]
if {![file exists [file join $rtl_dir $top.sv]]} { error "spvit: no $top.sv in $rtl_dir" }
set ip_dir [file join $spvit_build rtl_ip $top]
set work [file join $spvit_build rtl_ip work_$top]
file delete -force $ip_dir $work

create_project -force pkg_$top $work -part $spvit_part
add_files -norecurse [lsort [glob -directory $rtl_dir *.sv]]
set_property top $top [current_fileset]
update_compile_order -fileset sources_1
# only what the top instantiates goes into the IP
set used [get_files -compile_order sources -used_in synthesis]
foreach file [get_files -of_objects [get_filesets sources_1] *.sv] {
    if {$file ni $used} { remove_files $file }
}

ipx::package_project -root_dir $ip_dir -vendor spvit -library rtl -taxonomy /UserIP -import_files -force
set core [ipx::current_core]
set_property name $top $core
set_property version 1.0 $core
set_property display_name "spvit $top (RTL)" $core
set_property description "spvit-fpga $top, hw/rtl/$top.sv (docs/arithmetic.md)" $core
set_property supported_families [list [get_property FAMILY [get_parts $spvit_part]] Production] $core

# clk / rst: the packager infers both; rst is active high, and every bus interface runs on clk.
if {[llength [ipx::get_bus_interfaces rst -of_objects $core]] == 0} {
    ipx::infer_bus_interface rst xilinx.com:signal:reset_rtl:1.0 $core
}
set rst_if [ipx::get_bus_interfaces rst -of_objects $core]
if {[llength [ipx::get_bus_parameters POLARITY -of_objects $rst_if]] == 0} { ipx::add_bus_parameter POLARITY $rst_if }
set_property value ACTIVE_HIGH [ipx::get_bus_parameters POLARITY -of_objects $rst_if]
if {[llength [ipx::get_bus_interfaces clk -of_objects $core]] == 0} {
    ipx::infer_bus_interface clk xilinx.com:signal:clock_rtl:1.0 $core
}
foreach busif [ipx::get_bus_interfaces -of_objects $core] {
    set name [get_property name $busif]
    if {[regexp {^(s_axil|m_axi|s_axis|m_axis)} $name]} {
        ipx::associate_bus_interfaces -busif $name -clock clk $core
    }
}
ipx::associate_bus_interfaces -clock clk -reset rst $core

# Register map of the AXI4-Lite slave (4 KiB, the smallest block the ZynqMP address map assigns).
set axil [ipx::get_bus_interfaces s_axil -of_objects $core]
if {[llength $axil] > 0 && [llength [ipx::get_memory_maps s_axil -of_objects $core]] == 0} {
    set map [ipx::add_memory_map s_axil $core]
    set_property slave_memory_map_ref s_axil $axil
    set block [ipx::add_address_block reg0 $map]
    set_property range 4096 $block
}
# Address space of the AXI4 master: ADDR_WIDTH bits (the core's parameter, 40 by default).
set maxi [ipx::get_bus_interfaces m_axi -of_objects $core]
if {[llength $maxi] > 0} {
    set width 40
    set param [ipx::get_user_parameters ADDR_WIDTH -of_objects $core]
    if {[llength $param] > 0} { set width [get_property value $param] }
    if {![string is integer -strict $width]} { set width 40 }
    set space [ipx::get_address_spaces m_axi -of_objects $core]
    if {[llength $space] == 0} { set space [ipx::add_address_space m_axi $core] }
    set_property master_address_space_ref m_axi $maxi
    set_property width $width $space
    set_property range [expr {wide(1) << $width}] $space
}

ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity $core
ipx::save_core $core
close_project
file delete -force $work
puts "spvit: packaged $top as spvit:rtl:$top:1.0 in $ip_dir"
