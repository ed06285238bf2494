# Vivado block design of the spvit accelerator on a Zynq UltraScale+ board, for every board of boards/: the board's
# facts come from its generated include (SPVIT_BOARD_TCL, from boards/<board>/board.yaml), the accelerator from
# accel.tcl (SPVIT_IMPL = hls | rtl). Run through boards/Makefile (`make -C boards BOARD=<board> IMPL=<impl>
# block_design`), or by hand from any folder:
#
#   SPVIT_BOARD_TCL=build/zcu102/board.tcl SPVIT_IMPL=hls vivado -mode batch -source boards/common/block_design.tcl
#
# What it builds (block design `spvit`):
#   create_project (part, board part[, board connections]) -> ip_repo_paths = the kernels' IP folders -> zynq_ultra_ps_e
#   with the board preset (apply_bd_automation) -> PS ports: the control master, the HP slaves the design uses (each
#   hp_port_bits wide), pl_clk0 at clock_mhz, pl_ps_irq0 -> proc_sys_reset on pl_clk0 / pl_resetn0 -> per kernel: the
#   kernel IP and an AXI DMA `dma_<kernel>` (simple mode, length register, stream and memory widths from board.yaml
#   `dma`) on its token streams (S2MM only for a kernel whose tokens come in on a link) -> a SmartConnect from the control port to every register slave -> the AXI masters
#   (kernels' and DMAs') round-robin over the HP ports, one SmartConnect per port -> kernel-to-kernel links -> the
#   interrupts concatenated into pl_ps_irq0 -> assign_bd_address -> validate_bd_design -> make_wrapper (top
#   spvit_wrapper).
# Output: the project <build>/vivado_<impl>/spvit.xpr and the stamp <build>/vivado_<impl>/block_design.done.

source [file join [file dirname [file normalize [info script]]] flow.tcl]

set impl [spvit_impl]
set kernels [spvit_kernels $impl]
set proj_dir [spvit_project_dir $impl]
set bd spvit
set ps zynq_ultra_ps_e_0

# ---- the plan, before any Vivado command: which AXI master goes to which HP port -----------------------------------
set masters {}
dict for {kernel spec} $kernels {
    foreach m [dict get $spec masters] { lappend masters $kernel/$m }
}
dict for {kernel spec} $kernels {
    if {[dict get $spec stream_in] ne ""} { lappend masters dma_$kernel/M_AXI_MM2S }
    lappend masters dma_$kernel/M_AXI_S2MM
}
set hp_ports $spvit_memory_hp_ports
set plan [dict create]
set i 0
foreach m $masters {
    dict lappend plan [lindex $hp_ports [expr {$i % [llength $hp_ports]}]] $m
    incr i
}
if {![dict exists $spvit_ps_ports $spvit_ps_control_port] || $spvit_ps_control_port ni $spvit_ps_masters} {
    error "spvit: ps.control_port '$spvit_ps_control_port' is not one of $spvit_ps_masters"
}
foreach port [dict keys $plan] {
    if {![dict exists $spvit_ps_ports $port] || $port in $spvit_ps_masters} { error "spvit: '$port' is not a PS slave port" }
}

# ---- project ------------------------------------------------------------------------------------------------------
create_project -force spvit $proj_dir -part $spvit_part
set_property board_part $spvit_board_part [current_project]
if {$spvit_board_connections ne ""} {
    set_property board_connections $spvit_board_connections [current_project]
}
set_property target_language Verilog [current_project]
set repos {}
dict for {kernel spec} $kernels {
    set dir [spvit_ip_dir $impl $kernel]
    if {![file exists [file join $dir component.xml]]} {
        error "spvit: no IP for $kernel in $dir: build it first (make -C boards BOARD=$spvit_board IMPL=$impl ${impl}_ip)"
    }
    lappend repos $dir
}
set_property ip_repo_paths $repos [current_project]
update_ip_catalog -rebuild
dict for {kernel spec} $kernels {
    if {[llength [get_ipdefs -quiet [dict get $spec vlnv]]] == 0} {
        error "spvit: IP [dict get $spec vlnv] is not in the catalog (ip_repo_paths: $repos)"
    }
}

# The first of several IP definitions the installed Vivado has (xlconcat became inline_hdl:ilconcat in newer releases).
proc spvit_ipdef {candidates} {
    foreach vlnv $candidates {
        if {[llength [get_ipdefs -quiet -all $vlnv:*]] > 0} { return $vlnv }
    }
    error "spvit: none of the IP definitions $candidates is installed"
}

create_bd_design $bd
current_bd_design $bd

# ---- processing system ---------------------------------------------------------------------------------------------
create_bd_cell -type ip -vlnv xilinx.com:ip:$spvit_ps_ip $ps
if {$spvit_ps_board_preset} {
    apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {apply_board_preset "1"} [get_bd_cells $ps]
}
set ps_config {}
foreach port $spvit_ps_masters {
    lassign [dict get $spvit_ps_ports $port] use width clock
    lappend ps_config CONFIG.PSU__USE__$use [expr {$port eq $spvit_ps_control_port ? 1 : 0}]
}
lassign [dict get $spvit_ps_ports $spvit_ps_control_port] use width control_clock
lappend ps_config CONFIG.PSU__${width}__DATA_WIDTH $spvit_ps_control_port_bits
foreach port [dict keys $plan] {
    lassign [dict get $spvit_ps_ports $port] use width clock
    lappend ps_config CONFIG.PSU__USE__$use 1 CONFIG.PSU__${width}__DATA_WIDTH $spvit_memory_hp_port_bits
}
set clk_n [spvit_pin_index $spvit_ps_pl_clock]
lappend ps_config CONFIG.PSU__FPGA_PL${clk_n}_ENABLE 1 CONFIG.PSU__CRL_APB__PL${clk_n}_REF_CTRL__FREQMHZ $spvit_clock_mhz
lappend ps_config CONFIG.PSU__USE__IRQ[spvit_pin_index $spvit_ps_irq] 1
set_property -dict $ps_config [get_bd_cells $ps]

# ---- clock and reset -----------------------------------------------------------------------------------------------
set clk [get_bd_pins $ps/$spvit_ps_pl_clock]
create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset rst_pl
connect_bd_net $clk [get_bd_pins rst_pl/slowest_sync_clk]
connect_bd_net [get_bd_pins $ps/pl_resetn0] [get_bd_pins rst_pl/ext_reset_in]
set aresetn [get_bd_pins rst_pl/peripheral_aresetn]
set areset [get_bd_pins rst_pl/peripheral_reset]
set ic_aresetn [get_bd_pins rst_pl/interconnect_aresetn]
connect_bd_net $clk [get_bd_pins $ps/$control_clock]
foreach port [dict keys $plan] {
    connect_bd_net $clk [get_bd_pins $ps/[lindex [dict get $spvit_ps_ports $port] 2]]
}

# ---- kernels and their DMAs ----------------------------------------------------------------------------------------
set slaves {}
set irqs {}
dict for {kernel spec} $kernels {
    create_bd_cell -type ip -vlnv [dict get $spec vlnv] $kernel
    if {[llength [dict get $spec config]] > 0} {
        set_property -dict [dict get $spec config] [get_bd_cells $kernel]
    }
    connect_bd_net $clk [get_bd_pins $kernel/[dict get $spec clock]]
    if {[dict get $spec reset_polarity] eq "low"} {
        connect_bd_net $aresetn [get_bd_pins $kernel/[dict get $spec reset]]
    } else {
        connect_bd_net $areset [get_bd_pins $kernel/[dict get $spec reset]]
    }

    # a kernel without stream_in takes its tokens from another kernel (a link): its DMA only writes (S2MM)
    set stream_in [dict get $spec stream_in]
    set dma dma_$kernel
    create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma $dma
    set dma_config [list \
        CONFIG.c_include_sg [expr {$spvit_dma_scatter_gather ? 1 : 0}] \
        CONFIG.c_sg_length_width $spvit_dma_length_bits \
        CONFIG.c_include_mm2s [expr {$stream_in ne "" ? 1 : 0}] \
        CONFIG.c_include_s2mm 1 \
        CONFIG.c_s_axis_s2mm_tdata_width $spvit_dma_stream_bits \
        CONFIG.c_m_axi_s2mm_data_width $spvit_dma_mm_bits \
        CONFIG.c_s2mm_burst_size $spvit_dma_burst_beats \
        CONFIG.c_addr_width $spvit_dma_addr_bits \
    ]
    set dma_pins {s_axi_lite_aclk m_axi_s2mm_aclk}
    if {$stream_in ne ""} {
        lappend dma_config CONFIG.c_m_axis_mm2s_tdata_width $spvit_dma_stream_bits \
            CONFIG.c_m_axi_mm2s_data_width $spvit_dma_mm_bits CONFIG.c_mm2s_burst_size $spvit_dma_burst_beats
        lappend dma_pins m_axi_mm2s_aclk
    }
    set_property -dict $dma_config [get_bd_cells $dma]
    foreach pin $dma_pins {
        connect_bd_net $clk [get_bd_pins $dma/$pin]
    }
    connect_bd_net $aresetn [get_bd_pins $dma/axi_resetn]
    if {$stream_in ne ""} {
        connect_bd_intf_net [get_bd_intf_pins $dma/M_AXIS_MM2S] [get_bd_intf_pins $kernel/$stream_in]
        lappend irqs $dma/mm2s_introut
    }
    connect_bd_intf_net [get_bd_intf_pins $kernel/[dict get $spec stream_out]] [get_bd_intf_pins $dma/S_AXIS_S2MM]

    lappend slaves $kernel/[dict get $spec control] $dma/S_AXI_LITE
    if {[dict get $spec irq] ne ""} { lappend irqs $kernel/[dict get $spec irq] }
    lappend irqs $dma/s2mm_introut
}

# kernel-to-kernel streams
dict for {kernel spec} $kernels {
    foreach {out peer} [dict get $spec links] {
        connect_bd_intf_net [get_bd_intf_pins $kernel/$out] [get_bd_intf_pins $peer]
    }
}

# ---- interconnect: registers -------------------------------------------------------------------------------------
create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect ctrl_sc
set_property -dict [list CONFIG.NUM_SI 1 CONFIG.NUM_MI [llength $slaves]] [get_bd_cells ctrl_sc]
connect_bd_net $clk [get_bd_pins ctrl_sc/aclk]
connect_bd_net $ic_aresetn [get_bd_pins ctrl_sc/aresetn]
connect_bd_intf_net [get_bd_intf_pins $ps/$spvit_ps_control_port] [get_bd_intf_pins ctrl_sc/S00_AXI]
set i 0
foreach slave $slaves {
    connect_bd_intf_net [get_bd_intf_pins ctrl_sc/[format M%02d_AXI $i]] [get_bd_intf_pins $slave]
    incr i
}

# ---- interconnect: DDR through the HP ports ------------------------------------------------------------------------
set n 0
dict for {port port_masters} $plan {
    set sc mem_sc$n
    create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect $sc
    set_property -dict [list CONFIG.NUM_SI [llength $port_masters] CONFIG.NUM_MI 1] [get_bd_cells $sc]
    connect_bd_net $clk [get_bd_pins $sc/aclk]
    connect_bd_net $ic_aresetn [get_bd_pins $sc/aresetn]
    set i 0
    foreach m $port_masters {
        connect_bd_intf_net [get_bd_intf_pins $m] [get_bd_intf_pins $sc/[format S%02d_AXI $i]]
        incr i
    }
    connect_bd_intf_net [get_bd_intf_pins $sc/M00_AXI] [get_bd_intf_pins $ps/$port]
    incr n
}

# ---- interrupts ----------------------------------------------------------------------------------------------------
set concat [spvit_ipdef {xilinx.com:ip:xlconcat xilinx.com:inline_hdl:ilconcat}]
create_bd_cell -type ip -vlnv $concat irq_concat
set_property -dict [list CONFIG.NUM_PORTS [llength $irqs]] [get_bd_cells irq_concat]
set i 0
foreach irq $irqs {
    connect_bd_net [get_bd_pins $irq] [get_bd_pins irq_concat/In$i]
    incr i
}
connect_bd_net [get_bd_pins irq_concat/dout] [get_bd_pins $ps/$spvit_ps_irq]

# ---- addresses, validation, wrapper --------------------------------------------------------------------------------
assign_bd_address
validate_bd_design
save_bd_design
set bd_file [get_files $bd.bd]
set wrapper [make_wrapper -files $bd_file -top]
add_files -norecurse $wrapper
set_property top ${bd}_wrapper [current_fileset]
update_compile_order -fileset sources_1
close_project

spvit_write [file join $proj_dir block_design.done] \
    "board $spvit_board impl $impl part $spvit_part clock_mhz $spvit_clock_mhz hp_ports {[dict keys $plan]}"
puts "spvit: block design $bd for $spvit_board ($impl) -> [file join $proj_dir spvit.xpr]"
