; ARAP program: one pre-LayerNorm ViT encoder layer, four attention heads at once.
; Written by edgerun's generator (src/sim/arap_vit.cpp, vit_layer_program) for 17 tokens,
; d_model 32, 4 heads of 8, FFN 64. docs/ARAP.md explains the ISA, the schedule and the cycle model.
; @g sends an instruction to PE group g (@all to every group); each group runs its own
; stream in order. Handshake flags (SIG/WAIT): 0 LN1 rows quantized, 1 heads done,
; 2 residual-1 columns done, 3 LN2 rows quantized, 4 FFN hidden columns done.

.equ T 17     ; tokens
.equ D 32     ; d_model
.equ HD 8     ; head dim: the columns of one head
.equ F 64     ; FFN width
.equ DC 8     ; model columns per group after attention (D / 4)
.equ FC 16     ; hidden columns per group (F / 4)

; Exponents (value = k 2^e) and shifts the host binds from the model's q16 calibration;
; the defaults only serve timing runs without a model.
.param E_X1 -13        ; LN1 output, quantized for the Q/K/V Linears
.param SH_Q 15         ; e_q - (e_x1 + e_wq): the Q Linear's rescale
.param SH_K 15
.param SH_V 15
.param MULT_S 1095366371  ; fixed_mult(scale * log2 e): the multiplier
.param SH_S 40         ; its shift - (e_q + e_k) - 15: scores onto Q.15 (log2 domain)
.param SH_PV 12        ; e_ctx - (-15 + e_v)
.param SH_O 15         ; e_o - (e_ctx + e_wo)
.param E_O -12         ; attention output exponent, for the fp32 residual add
.param E_X2 -13        ; LN2 output, quantized for FC1
.param SH_1 15         ; e_f1 - (e_x2 + e_w1)
.param E_F1 -12        ; FC1 output exponent
.param E_X3 -13        ; activation output, quantized for FC2
.param SH_2 15         ; e_f2 - (e_x3 + e_w2)
.param E_F2 -12        ; FC2 output exponent

; Data memory. Host-loaded: x0, ln1, ln2, weights (int16, (out, in) as torch stores them)
; and biases (int64 on their accumulators' exponents). The host reads y.
.tensor x0  f32 T D    ; layer input: the residual stream
.tensor ln1 f32 3 D    ; LayerNorm 1: gamma, beta, and eps at [2, 0]
.tensor ln2 f32 3 D
.tensor wq  i16 D D
.tensor wk  i16 D D
.tensor wv  i16 D D
.tensor wo  i16 D D
.tensor w1  i16 F D
.tensor w2  i16 D F
.tensor bq  i64 1 D
.tensor bk  i64 1 D
.tensor bv  i64 1 D
.tensor bo  i64 1 D
.tensor b1  i64 1 F
.tensor b2  i64 1 D
.tensor h1  f32 T D    ; LN1 output
.tensor xq  i16 T D    ; ... quantized on E_X1
.tensor q   i16 T D
.tensor k   i16 T D
.tensor v   i16 T D
.tensor u   i32 4*T T  ; scores in Q.15, head g in rows g*T ..
.tensor p   i16 4*T T  ; shiftmax probabilities on 2^-15
.tensor ctx i16 T D    ; attention output, head g in columns g*HD ..
.tensor o   i16 T D    ; output projection
.tensor x1  f32 T D    ; x0 + o: residual stream after attention
.tensor h2  f32 T D    ; LN2 output
.tensor x2q i16 T D    ; ... quantized on E_X2
.tensor f1  i16 T F    ; FC1 output
.tensor g1  f32 T F    ; its activation (fp32)
.tensor x3q i16 T F    ; ... quantized on E_X3
.tensor f2  i16 T D    ; FC2 output
.tensor y   f32 T D    ; x1 + f2: the layer output

; ---- phase 1: LayerNorm 1 and quantization, token rows split over the groups ----
@all SETB ln1, D, 1
@0 SETA x0[0, 0], D, 1
@0 SETC h1[0, 0], D, 1
@0 DIMS 5, D
@1 SETA x0[5, 0], D, 1
@1 SETC h1[5, 0], D, 1
@1 DIMS 4, D
@2 SETA x0[9, 0], D, 1
@2 SETC h1[9, 0], D, 1
@2 DIMS 4, D
@3 SETA x0[13, 0], D, 1
@3 SETC h1[13, 0], D, 1
@3 DIMS 4, D
@all SFU ln
@0 SETA h1[0, 0], D, 1
@0 SETC xq[0, 0], D, 1
@0 DIMS 5, D
@1 SETA h1[5, 0], D, 1
@1 SETC xq[5, 0], D, 1
@1 DIMS 4, D
@2 SETA h1[9, 0], D, 1
@2 SETC xq[9, 0], D, 1
@2 DIMS 4, D
@3 SETA h1[13, 0], D, 1
@3 SETC xq[13, 0], D, 1
@3 DIMS 4, D
@all SHIFT E_X1
@all SFU qnt
@all SIG 0

; ---- phase 2: attention, head g on group g (every head needs every row of xq) ----
@all WAIT 0, 4
@all SETA xq, D, 1
@all DIMS T, HD, D
; q columns of head g = xq wq[rows of head g]^T + bias
@0 SETB wq[0*HD, 0], D, 1
@1 SETB wq[1*HD, 0], D, 1
@2 SETB wq[2*HD, 0], D, 1
@3 SETB wq[3*HD, 0], D, 1
@0 SETD bq[0, 0*HD], 0, 1
@1 SETD bq[0, 1*HD], 0, 1
@2 SETD bq[0, 2*HD], 0, 1
@3 SETD bq[0, 3*HD], 0, 1
@0 SETC q[0, 0*HD], D, 1
@1 SETC q[0, 1*HD], D, 1
@2 SETC q[0, 2*HD], D, 1
@3 SETC q[0, 3*HD], D, 1
@all SHIFT SH_Q
@all GEMM i16, bias
; k columns of head g = xq wk[rows of head g]^T + bias
@0 SETB wk[0*HD, 0], D, 1
@1 SETB wk[1*HD, 0], D, 1
@2 SETB wk[2*HD, 0], D, 1
@3 SETB wk[3*HD, 0], D, 1
@0 SETD bk[0, 0*HD], 0, 1
@1 SETD bk[0, 1*HD], 0, 1
@2 SETD bk[0, 2*HD], 0, 1
@3 SETD bk[0, 3*HD], 0, 1
@0 SETC k[0, 0*HD], D, 1
@1 SETC k[0, 1*HD], D, 1
@2 SETC k[0, 2*HD], D, 1
@3 SETC k[0, 3*HD], D, 1
@all SHIFT SH_K
@all GEMM i16, bias
; v columns of head g = xq wv[rows of head g]^T + bias
@0 SETB wv[0*HD, 0], D, 1
@1 SETB wv[1*HD, 0], D, 1
@2 SETB wv[2*HD, 0], D, 1
@3 SETB wv[3*HD, 0], D, 1
@0 SETD bv[0, 0*HD], 0, 1
@1 SETD bv[0, 1*HD], 0, 1
@2 SETD bv[0, 2*HD], 0, 1
@3 SETD bv[0, 3*HD], 0, 1
@0 SETC v[0, 0*HD], D, 1
@1 SETC v[0, 1*HD], D, 1
@2 SETC v[0, 2*HD], D, 1
@3 SETC v[0, 3*HD], D, 1
@all SHIFT SH_V
@all GEMM i16, bias
; scores u = round(Q K^T MULT_S 2^-SH_S): base-2 scores on Q.15
@0 SETA q[0, 0*HD], D, 1
@1 SETA q[0, 1*HD], D, 1
@2 SETA q[0, 2*HD], D, 1
@3 SETA q[0, 3*HD], D, 1
@0 SETB k[0, 0*HD], D, 1
@1 SETB k[0, 1*HD], D, 1
@2 SETB k[0, 2*HD], D, 1
@3 SETB k[0, 3*HD], D, 1
@0 SETC u[0*T, 0], T, 1
@1 SETC u[1*T, 0], T, 1
@2 SETC u[2*T, 0], T, 1
@3 SETC u[3*T, 0], T, 1
@all DIMS T, T, HD
@all MULT MULT_S
@all SHIFT SH_S
@all GEMM i32, mul
; shiftmax over each row: max, 2^(u - max) by shift-and-add, Mitchell log2 of the sum
@0 SETA u[0*T, 0], T, 1
@1 SETA u[1*T, 0], T, 1
@2 SETA u[2*T, 0], T, 1
@3 SETA u[3*T, 0], T, 1
@0 SETC p[0*T, 0], T, 1
@1 SETC p[1*T, 0], T, 1
@2 SETC p[2*T, 0], T, 1
@3 SETC p[3*T, 0], T, 1
@all DIMS T, T
@all SMAX
; context = P V (V read transposed: B(n, k) = v[k, n])
@0 SETA p[0*T, 0], T, 1
@1 SETA p[1*T, 0], T, 1
@2 SETA p[2*T, 0], T, 1
@3 SETA p[3*T, 0], T, 1
@0 SETB v[0, 0*HD], 1, D
@1 SETB v[0, 1*HD], 1, D
@2 SETB v[0, 2*HD], 1, D
@3 SETB v[0, 3*HD], 1, D
@0 SETC ctx[0, 0*HD], D, 1
@1 SETC ctx[0, 1*HD], D, 1
@2 SETC ctx[0, 2*HD], D, 1
@3 SETC ctx[0, 3*HD], D, 1
@all DIMS T, HD, T
@all SHIFT SH_PV
@all GEMM i16
@all SIG 1

; ---- phase 3: output projection and residual 1, model columns split (needs every head) ----
@all WAIT 1, 4
@all SETA ctx, D, 1
@0 SETB wo[0*DC, 0], D, 1
@1 SETB wo[1*DC, 0], D, 1
@2 SETB wo[2*DC, 0], D, 1
@3 SETB wo[3*DC, 0], D, 1
@0 SETD bo[0, 0*DC], 0, 1
@1 SETD bo[0, 1*DC], 0, 1
@2 SETD bo[0, 2*DC], 0, 1
@3 SETD bo[0, 3*DC], 0, 1
@0 SETC o[0, 0*DC], D, 1
@1 SETC o[0, 1*DC], D, 1
@2 SETC o[0, 2*DC], D, 1
@3 SETC o[0, 3*DC], D, 1
@all DIMS T, DC, D
@all SHIFT SH_O
@all GEMM i16, bias
@0 SETA o[0, 0*DC], D, 1
@1 SETA o[0, 1*DC], D, 1
@2 SETA o[0, 2*DC], D, 1
@3 SETA o[0, 3*DC], D, 1
@0 SETD x0[0, 0*DC], D, 1
@1 SETD x0[0, 1*DC], D, 1
@2 SETD x0[0, 2*DC], D, 1
@3 SETD x0[0, 3*DC], D, 1
@0 SETC x1[0, 0*DC], D, 1
@1 SETC x1[0, 1*DC], D, 1
@2 SETC x1[0, 2*DC], D, 1
@3 SETC x1[0, 3*DC], D, 1
@all DIMS T, DC
@all SHIFT E_O
@all SFU addf
@all SIG 2

; ---- phase 4: LayerNorm 2 and quantization, rows split (needs whole rows of x1) ----
@all WAIT 2, 4
@all SETB ln2, D, 1
@0 SETA x1[0, 0], D, 1
@0 SETC h2[0, 0], D, 1
@0 DIMS 5, D
@1 SETA x1[5, 0], D, 1
@1 SETC h2[5, 0], D, 1
@1 DIMS 4, D
@2 SETA x1[9, 0], D, 1
@2 SETC h2[9, 0], D, 1
@2 DIMS 4, D
@3 SETA x1[13, 0], D, 1
@3 SETC h2[13, 0], D, 1
@3 DIMS 4, D
@all SFU ln
@0 SETA h2[0, 0], D, 1
@0 SETC x2q[0, 0], D, 1
@0 DIMS 5, D
@1 SETA h2[5, 0], D, 1
@1 SETC x2q[5, 0], D, 1
@1 DIMS 4, D
@2 SETA h2[9, 0], D, 1
@2 SETC x2q[9, 0], D, 1
@2 DIMS 4, D
@3 SETA h2[13, 0], D, 1
@3 SETC x2q[13, 0], D, 1
@3 DIMS 4, D
@all SHIFT E_X2
@all SFU qnt
@all SIG 3

; ---- phase 5: FC1 and the activation, hidden columns split (needs every row of x2q) ----
@all WAIT 3, 4
@all SETA x2q, D, 1
@0 SETB w1[0*FC, 0], D, 1
@1 SETB w1[1*FC, 0], D, 1
@2 SETB w1[2*FC, 0], D, 1
@3 SETB w1[3*FC, 0], D, 1
@0 SETD b1[0, 0*FC], 0, 1
@1 SETD b1[0, 1*FC], 0, 1
@2 SETD b1[0, 2*FC], 0, 1
@3 SETD b1[0, 3*FC], 0, 1
@0 SETC f1[0, 0*FC], F, 1
@1 SETC f1[0, 1*FC], F, 1
@2 SETC f1[0, 2*FC], F, 1
@3 SETC f1[0, 3*FC], F, 1
@all DIMS T, FC, D
@all SHIFT SH_1
@all GEMM i16, bias
@0 SETA f1[0, 0*FC], F, 1
@1 SETA f1[0, 1*FC], F, 1
@2 SETA f1[0, 2*FC], F, 1
@3 SETA f1[0, 3*FC], F, 1
@0 SETC g1[0, 0*FC], F, 1
@1 SETC g1[0, 1*FC], F, 1
@2 SETC g1[0, 2*FC], F, 1
@3 SETC g1[0, 3*FC], F, 1
@all DIMS T, FC
@all SHIFT E_F1
@all SFU deq
@0 SETA g1[0, 0*FC], F, 1
@1 SETA g1[0, 1*FC], F, 1
@2 SETA g1[0, 2*FC], F, 1
@3 SETA g1[0, 3*FC], F, 1
@all SFU act
@0 SETC x3q[0, 0*FC], F, 1
@1 SETC x3q[0, 1*FC], F, 1
@2 SETC x3q[0, 2*FC], F, 1
@3 SETC x3q[0, 3*FC], F, 1
@all SHIFT E_X3
@all SFU qnt
@all SIG 4

; ---- phase 6: FC2 and residual 2, model columns split (needs every hidden column) ----
@all WAIT 4, 4
@all SETA x3q, F, 1
@0 SETB w2[0*DC, 0], F, 1
@1 SETB w2[1*DC, 0], F, 1
@2 SETB w2[2*DC, 0], F, 1
@3 SETB w2[3*DC, 0], F, 1
@0 SETD b2[0, 0*DC], 0, 1
@1 SETD b2[0, 1*DC], 0, 1
@2 SETD b2[0, 2*DC], 0, 1
@3 SETD b2[0, 3*DC], 0, 1
@0 SETC f2[0, 0*DC], D, 1
@1 SETC f2[0, 1*DC], D, 1
@2 SETC f2[0, 2*DC], D, 1
@3 SETC f2[0, 3*DC], D, 1
@all DIMS T, DC, F
@all SHIFT SH_2
@all GEMM i16, bias
@0 SETA f2[0, 0*DC], D, 1
@1 SETA f2[0, 1*DC], D, 1
@2 SETA f2[0, 2*DC], D, 1
@3 SETA f2[0, 3*DC], D, 1
@0 SETD x1[0, 0*DC], D, 1
@1 SETD x1[0, 1*DC], D, 1
@2 SETD x1[0, 2*DC], D, 1
@3 SETD x1[0, 3*DC], D, 1
@0 SETC y[0, 0*DC], D, 1
@1 SETC y[0, 1*DC], D, 1
@2 SETC y[0, 2*DC], D, 1
@3 SETC y[0, 3*DC], D, 1
@all DIMS T, DC
@all SHIFT E_F2
@all SFU addf
@all HALT
