# The accelerator of each implementation (`--impl hls|rtl`), as data: block_design.tcl wires whatever this table
# says, the same way on every board. tests/test_boards.py checks it against the HLS tops (hw/hls/vitis/tops/) and the
# RTL ports (hw/rtl/<kernel>.sv) and against KERNELS in boards/Makefile and spvit/hw_build.py.
#
# Per kernel (the block-design cell is named after the kernel, so a PYNQ overlay has `ol.encoder_block`,
# `ol.dma_encoder_block`, ... whichever implementation was built):
#   vlnv            the IP: hls -- exported by hw/hls/vitis/build_prj.tcl (export_design, vendor spvit, library hls);
#                   rtl -- packaged from hw/rtl/*.sv by package_rtl_ip.tcl (vendor spvit, library rtl)
#   clock, reset    the clock pin and the reset pin; reset_polarity low (ap_rst_n) or high (rst)
#   control         the AXI4-Lite register slave, on the PS control port (board.yaml ps.control_port)
#   masters         AXI4 masters to DDR, spread with the DMAs' over the board's HP ports (memory.hp_ports)
#   stream_in/out   the token streams, wired to the kernel's own AXI DMA `dma_<kernel>` (MM2S -> stream_in,
#                   stream_out -> S2MM; 128-bit beats, TLAST on the last beat of the image); stream_in {}: the
#                   tokens come from another kernel's link, and the DMA has no MM2S
#   irq             the interrupt pin, or {} (the DMAs' interrupts are always collected)
#   links           kernel-to-kernel streams {<output interface> <peer kernel>/<input interface> ...}
#   config          CONFIG.* properties of the cell
set spvit_accel {
    hls {
        encoder_block {
            vlnv spvit:hls:encoder_block:1.0 clock ap_clk reset ap_rst_n reset_polarity low
            control s_axi_control masters {m_axi_gmem0 m_axi_gmem1} stream_in s_axis stream_out m_axis
            irq interrupt links {} config {}
        }
        prune_stage {
            vlnv spvit:hls:prune_stage:1.0 clock ap_clk reset ap_rst_n reset_polarity low
            control s_axi_control masters {m_axi_gmem1} stream_in s_axis stream_out m_axis
            irq interrupt links {} config {}
        }
    }
    rtl {
        encoder_block {
            vlnv spvit:rtl:encoder_block:1.0 clock clk reset rst reset_polarity high
            control s_axil masters {m_axi} stream_in s_axis stream_out m_axis
            irq {} config {}
            links {m_axis_link prune_stage/s_axis
                   m_axis_cls_p16 prune_stage/s_axis_p16 m_axis_cls_ctx prune_stage/s_axis_ctx}
        }
        prune_stage {
            vlnv spvit:rtl:prune_stage:1.0 clock clk reset rst reset_polarity high
            control s_axil masters {} stream_in {} stream_out m_axis
            irq irq links {} config {CONFIG.SCORER 2}
        }
    }
}
# rtl: prune_stage takes the tokens of the block before it as the block produces them (encoder_block's m_axis_link,
# flags.link: the stage is started first, and the block's DMA writes the same tokens to DDR), and scores them with its
# own asvit_score.sv (SCORER = 2) from the class-attention rows and contexts that encoder_block streams out when its
# flags.cls_out is set (the links above). Its s_axis_score (SCORER = 0) and
# s_axis_prm (SCORER = 1) stay unconnected, and the AXI DMA's S2MM has no TUSER, so the source index that
# prune_stage puts on m_axis_tuser does not reach DDR in this design (docs/board_flow.md).
