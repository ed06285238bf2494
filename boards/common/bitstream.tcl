# Synthesis, implementation and bitstream of the project block_design.tcl made, then the PYNQ overlay files side by
# side: spvit.bit and spvit.hwh (pynq.Overlay("spvit.bit") reads spvit.hwh beside it). Run through boards/Makefile
# (`make -C boards BOARD=<board> IMPL=<impl> bitstream`), or by hand:
#
#   SPVIT_BOARD_TCL=build/zcu102/board.tcl SPVIT_IMPL=hls vivado -mode batch -source boards/common/bitstream.tcl
#
# Environment (besides flow.tcl's): SPVIT_JOBS (parallel runs, default 4); SPVIT_ALLOW_NEGATIVE_SLACK=1 keeps a
# bitstream that missed timing (by default a negative WNS is an error and nothing is copied).
# Outputs: $SPVIT_OUT/spvit.bit, $SPVIT_OUT/spvit.hwh (SPVIT_OUT defaults to the board's build folder), the same two
# in the project folder <build>/vivado_<impl>/ (the Makefile copies those when IMPL changes), reports in
# $SPVIT_OUT/reports/<impl>_{utilization,timing}.rpt, and the stamp <build>/vivado_<impl>/bitstream.done.

source [file join [file dirname [file normalize [info script]]] flow.tcl]

set impl [spvit_impl]
set proj_dir [spvit_project_dir $impl]
set bd spvit
set out [file normalize [spvit_env SPVIT_OUT $spvit_build]]
set jobs [spvit_env SPVIT_JOBS 4]
set project [file join $proj_dir spvit.xpr]
if {![file exists $project]} {
    error "spvit: $project is missing: run the block design first (make -C boards BOARD=$spvit_board IMPL=$impl block_design)"
}

proc spvit_run {run args} {
    reset_run $run
    launch_runs $run {*}$args
    wait_on_run $run
    if {[get_property PROGRESS [get_runs $run]] ne "100%"} {
        error "spvit: $run failed ([get_property STATUS [get_runs $run]]): see [get_property DIRECTORY [get_runs $run]]/runme.log"
    }
}

open_project $project
spvit_run synth_1 -jobs $jobs
spvit_run impl_1 -to_step write_bitstream -jobs $jobs

set impl_dir [get_property DIRECTORY [get_runs impl_1]]
set wns [get_property STATS.WNS [get_runs impl_1]]
file mkdir [file join $out reports]
open_run impl_1
report_utilization -file [file join $out reports ${impl}_utilization.rpt]
report_timing_summary -file [file join $out reports ${impl}_timing.rpt]
close_project

if {$wns ne "" && $wns < 0 && [spvit_env SPVIT_ALLOW_NEGATIVE_SLACK 0] ne "1"} {
    error "spvit: timing not met at $spvit_clock_mhz MHz (WNS $wns ns; [file join $out reports ${impl}_timing.rpt]);\
           lower clock_mhz in boards/$spvit_board/board.yaml or set SPVIT_ALLOW_NEGATIVE_SLACK=1"
}

# The bitstream of the wrapper, and the hardware handoff: Vivado 2020.2 and later write it under <proj>.gen/, older
# releases under <proj>.srcs/.
set bit [file join $impl_dir ${bd}_wrapper.bit]
set hwh {}
foreach tree {spvit.gen spvit.srcs} {
    set candidate [file join $proj_dir $tree sources_1 bd $bd hw_handoff $bd.hwh]
    if {[file exists $candidate]} { set hwh $candidate; break }
}
if {![file exists $bit]} { error "spvit: write_bitstream left no $bit" }
if {$hwh eq ""} { error "spvit: no $bd.hwh under [file join $proj_dir spvit.gen sources_1 bd $bd hw_handoff] (nor .srcs)" }

foreach dir [lsort -unique [list $proj_dir $out]] {
    file mkdir $dir
    file copy -force $bit [file join $dir spvit.bit]
    file copy -force $hwh [file join $dir spvit.hwh]
}
spvit_write [file join $proj_dir bitstream.done] "board $spvit_board impl $impl clock_mhz $spvit_clock_mhz wns $wns"
puts "spvit: $spvit_board ($impl): [file join $out spvit.bit] and [file join $out spvit.hwh] (WNS $wns ns)"
