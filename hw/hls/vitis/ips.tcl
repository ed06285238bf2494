# The Vitis HLS IP cores of hw/hls/: data only, read by build_prj.tcl (and by tests/test_hls_vitis.py).
#
# For each IP <name>: the top function that tops/<name>.cpp defines (set_top), the docs/arithmetic.md section and the
# IP catalog description. By convention the design is tops/<name>.cpp with tops/spvit_ip.hpp and hw/hls/*.hpp, the
# testbench tb/<name>_tb.cpp with tb/tb_common.hpp and the golden vectors <name>.vec of
# `python -m spvit.sim.hls_vectors --top <name>`. Sizes: the digits model (tops/spvit_ip.hpp).
set spvit_ips {
    requantize    {top requantize_top    section 2.3      description "int32 to int8 requantize: round half up, saturate"}
    linear        {top linear_top        section 3        description "int8 linear layer (64 to 128, 16 x 4 MACs) with requantize"}
    residual_add  {top residual_add_top  section 4        description "residual add of two int8 token streams with alignment shifts"}
    lut           {top lut_top           section 7        description "256-entry int8 table (GELU) over 128-channel tokens"}
    layernorm     {top layernorm_top     section 6        description "integer LayerNorm of 64-channel tokens"}
    softmax       {top softmax_top       section 5.2      description "integer softmax of int32 rows to p8 and p16"}
    attention     {top attention_top     section {5 8.1}  description "multi-head attention with class row and AS-ViT scores"}
    topk_select   {top topk_select_top   section 9        description "top-k / threshold token selection, kept indices in order"}
    token_pack    {top token_pack_top    section {10 11.3} description "token packaging: kept tokens then the package token"}
    selector      {top selector_top      section 8.2      description "SPViT multi-head token selector keep scores"}
    encoder_block {top encoder_block_top section {11.2 8} description "pre-LN ViT encoder block with the stage scores"}
    prune_stage   {top prune_stage_top   section 11.3     description "token pruning stage: top-k selection and packaging"}
}
