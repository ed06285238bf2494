// Forced include (g++ -include) of the g++ testbench builds (spvit.sim.hls_vectors.build_testbench): the csim
// prelude hw/hls/csim/ap_quiet.h, with one more false positive of the ap_types headers silenced. The tops read
// parameter words at constant offsets, and after inlining g++ -O2 flags ap_private's reversed-range branch of a
// part-select (never taken: every range here has hi >= lo) under -Waggressive-loop-optimizations. As in ap_quiet.h,
// the pragma covers only the headers' own lines: the project's code keeps the warning.
#ifndef SPVIT_AP_QUIET_TB_H
#define SPVIT_AP_QUIET_TB_H
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#include "../../csim/ap_quiet.h"
#pragma GCC diagnostic pop
#endif // SPVIT_AP_QUIET_TB_H
