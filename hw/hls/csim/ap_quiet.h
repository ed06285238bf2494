// Forced include (g++ -include) for C-simulation of the project's HLS code with g++ -O2 -Wall -Wextra -Werror.
//
// The ap_types headers (hls4ml's copy of the Xilinx headers, passed with -isystem) construct every ap_int/ap_fixed
// through ap_private::clearUnusedBits(), which reads the not-yet-assigned VAL and masks it. The value is always
// overwritten, but g++ -O2 reports it as -Wuninitialized / -Wmaybe-uninitialized at each inlined construction in
// the caller, so -isystem alone does not hide it. GCC attributes these warnings to the headers' own lines, so
// silencing them between push and pop affects those lines only: the project's code keeps both warnings.
#ifndef SPVIT_AP_QUIET_H
#define SPVIT_AP_QUIET_H
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "ap_int.h"
#include "ap_fixed.h"
#include "hls_stream.h"
#pragma GCC diagnostic pop
#endif // SPVIT_AP_QUIET_H
