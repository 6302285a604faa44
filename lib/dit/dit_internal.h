/* The DiT's private structures, shared by the files of lib/dit. */
#ifndef SN_DIT_INTERNAL_H
#define SN_DIT_INTERNAL_H

#include "dit/dit.h"

typedef struct sn_config sn_config;
typedef struct sn_weights sn_weights;

/* How a q/k normalisation (diffusers Attention(qk_norm=...)) is computed. */
typedef enum sn_dit_qk_kind { SN_QK_NONE = 0, SN_QK_RMS, SN_QK_LAYER } sn_dit_qk_kind;

/* Over all heads' channels at once (the only kind the Sana processors can run). */
typedef struct sn_dit_qk_norm {
    sn_dit_qk_kind kind;
    int has_weight;    /* learnable weight over all channels */
    int has_bias;
    float eps;
} sn_dit_qk_norm;

/* config.json, after the reference's defaults (SanaTransformer2DModel.__init__). */
typedef struct sn_dit_config {
    int32_t in_channels, out_channels;
    int32_t heads, head_dim;             /* self-attention: D = heads * head_dim */
    int32_t num_layers;
    int32_t cross_heads, cross_head_dim; /* cross-attention: Dc = cross_heads * cross_head_dim */
    int32_t cross_attention_dim;         /* must equal D (the projected caption width) */
    int32_t caption_channels;
    double mlp_ratio;
    int attention_bias;                  /* attn1 q/k/v biases */
    int32_t sample_size, patch_size;
    int norm_elementwise_affine;         /* norm2 (the FFN pre-norm) has weight and bias */
    double norm_eps;                     /* norm1, norm2 */
    int use_pe;                          /* interpolation_scale given: 2-D sin-cos table */
    double interpolation_scale;
    int guidance_embeds;
    double guidance_embeds_scale;
    double timestep_scale;
    sn_dit_qk_norm qk;
    /* derived */
    int32_t D, Dc, F;                    /* F = int(mlp_ratio * D) */
} sn_dit_config;

/* Parses and checks config.json (`c`); names the key that cannot be run. */
sana_status sn_dit_config_read(const sn_config *c, sn_dit_config *out);

typedef struct sn_dit_block {
    sn_tensor table;                     /* scale_shift_table [6, D] */
    sn_tensor q1, k1, v1, q1b, k1b, v1b; /* attn1.to_{q,k,v} [D, D] (+ biases [D] if any) */
    sn_tensor nq1w, nq1b, nk1w, nk1b;    /* attn1.norm_{q,k} */
    sn_tensor o1, o1b;                   /* attn1.to_out.0 [D, D], [D] */
    sn_tensor q2, q2b, k2, k2b, v2, v2b; /* attn2.to_q [Dc, D]; to_k/to_v [Dc, D]; biases [Dc] */
    sn_tensor nq2w, nq2b, nk2w, nk2b;    /* attn2.norm_{q,k} */
    sn_tensor o2, o2b;                   /* attn2.to_out.0 [D, Dc], [D] */
    sn_tensor n2w, n2b;                  /* norm2 affine (norm_elementwise_affine only) */
    sn_tensor ff_in, ff_in_b;            /* ff.conv_inverted as a GEMM [2F, D], [2F] */
    sn_tensor ff_dw, ff_dw_b;            /* ff.conv_depth [2F, 1, 3, 3], [2F] */
    sn_tensor ff_out;                    /* ff.conv_point as a GEMM [D, F] */
} sn_dit_block;

/* One timestep MLP: TimestepEmbedding(256 -> D -> D). */
typedef struct sn_dit_mlp {
    sn_tensor l1, l1b, l2, l2b;
} sn_dit_mlp;

struct sn_dit {
    sn_backend *be;
    sn_dit_config cfg;
    sn_tensor pe_w, pe_b;                /* patch_embed.proj [D, C, p, p], [D] */
    sn_dit_mlp t_mlp, g_mlp;             /* timestep (and Sprint guidance) embedders */
    sn_tensor t_lin, t_lin_b;            /* time_embed.linear [6D, D], [6D] */
    sn_tensor cap1, cap1b, cap2, cap2b;  /* caption_projection */
    sn_tensor cap_norm;                  /* caption_norm.weight [D] */
    sn_tensor out_table;                 /* scale_shift_table [2, D] */
    sn_tensor proj, proj_b;              /* proj_out [p*p*C_out, D], [p*p*C_out] */
    sn_dit_block *blocks;
    int64_t params;
    int64_t owned_bytes;                 /* weights allocated on `be` */
    int64_t mapped_bytes;                /* weights read in place from the mapped file */
    sn_weights *weights;                 /* kept open while mapped_bytes > 0, else NULL */
    sn_dit_probe_fn probe;
    void *probe_user;
    int no_key_trim;                     /* tests: attend all T caption rows (sn_dit_set_key_trim) */
};

struct sn_dit_text {
    int32_t B, T;
    int32_t R;                           /* caption rows attended: keys [0, R) (dit_text.c) */
    int has_mask;
    sn_tensor mask;                      /* additive bias [B, 1, R] */
    sn_tensor *k, *v;                    /* per block: [B, Hc, R, dc] */
    sn_tensor pe;                        /* positional table [Hp * Wp, D] fp32, or no data */
    int64_t pe_hp, pe_wp;                /* its grid (sn_dit_prepare_positions) */
    int32_t n_layers;
};

/* Host-side tables (fp32 as the reference computes them; see dit_embed.c). */
/* [n, 256]: cos(t f_k) then sin(t f_k), f_k = exp(-ln(10000) k / 128) */
void sn_dit_timestep_sinusoid(const float *t, int32_t n, float *out);
/* [Hp * Wp, D]: the 2-D sin-cos positional embedding of PatchEmbed for an Hp x Wp grid. */
void sn_dit_sincos_pe(int32_t D, int32_t Hp, int32_t Wp, double base_size, double interp,
                      float *out);

/* The table above as an fp32 [Hp * Wp, D] tensor on `be`: persistent (sn_tensor_alloc) or
 * from the scratch arena. */
sana_status sn_dit_pe_tensor(const sn_dit *dit, sn_backend *be, int64_t Hp, int64_t Wp,
                             int persistent, sn_tensor *out);

/* Applies a q/k normalisation in place to x [B, N, C] (over C). */
sana_status sn_dit_apply_qk_norm(const sn_dit_qk_norm *qn, const sn_tensor *w, const sn_tensor *b,
                                 sn_tensor *x);

static inline void sn_dit_emit(const sn_dit *dit, const char *name, const sn_tensor *t) {
    if (dit->probe) dit->probe(dit->probe_user, name, t);
}

#endif
