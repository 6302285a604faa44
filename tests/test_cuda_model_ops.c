/* The CUDA backend's model ops (text encoder, DiT, DC-AE), its graphs and memory counters,
 * against the CPU backend on random data: fp32 mode within 1e-4 relative, bf16 mode within 2e-2.
 * Also: a banded conv2d_band on the GPU equals the same rows of the whole-image call bit for bit
 * (what exact banded decoding needs), and a graph replayed with new uploads computes what the
 * plain calls compute. Skips (77) where no GPU or no CUDA build is at hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cuda_pair.h"
#include "harness.h"

/* Small uploads return before the copy (pinned ring); the caller's buffer may change at once.
 * 3000 uploads of 4 KiB also wrap the ring (two halves of 8 MiB) a few times. */
static void uploads(void) {
    enum { N = 1024, K = 3000 };
    float *h = malloc(N * 4), *got = malloc(N * 4);
    sn_tensor *t = calloc(K, sizeof *t);
    CHECK(h && got && t, "buffers");
    for (int k = 0; k < K; k++) {
        CHECK_OK(sn_tensor_alloc(gpu, SN_F32, 1, SN_SHAPE(N), &t[k]));
        for (int i = 0; i < N; i++) h[i] = (float)(k * N + i);
        CHECK_OK(sn_upload_convert(&t[k], SN_F32, h));
    }
    int bad = 0;
    for (int k = 0; k < K; k += 37) {
        CHECK_OK(sn_download_f32(&t[k], got));
        for (int i = 0; i < N; i++) bad += got[i] != (float)(k * N + i);
    }
    printf("async uploads: %d wrong values\n", bad);
    CHECK(bad == 0, "%d values of staged uploads are wrong", bad);
    for (int k = 0; k < K; k++) sn_tensor_free(&t[k]);
    free(t), free(h), free(got);
}

static void text_and_dit_ops(void) {
    pair x = mk(4, SN_SHAPE(2, 3, 7, 16), 1), y = mk(4, SN_SHAPE(2, 3, 7, 16), 0);
    CHECK_OK(sn_rope(&x.c, 10000.0f, 5, &y.c));
    CHECK_OK(sn_rope(&x.g, 10000.0f, 5, &y.g));
    compare("rope (pos0 5)", &y);
    CHECK_OK(sn_rope(&x.c, 10000.0f, 0, &x.c));
    CHECK_OK(sn_rope(&x.g, 10000.0f, 0, &x.g));
    compare("rope in place", &x);

    /* 300 tokens: two partial states per head (chunks of 256) */
    pair q = mk(3, SN_SHAPE(2, 300, 32), 2), k = mk(3, SN_SHAPE(2, 300, 32), 3);
    pair v = mk(3, SN_SHAPE(2, 300, 48), 4), ya = mk(3, SN_SHAPE(2, 300, 48), 0);
    CHECK_OK(sn_linear_attention(&q.c, &k.c, &v.c, 4, 1e-15f, &ya.c));
    CHECK_OK(sn_linear_attention(&q.g, &k.g, &v.g, 4, 1e-15f, &ya.g));
    compare("linear_attention (4 heads, d 8, dv 12, 300 tokens)", &ya);

    pair xd = mk(4, SN_SHAPE(2, 5, 6, 16), 5), wd = mk(4, SN_SHAPE(16, 1, 3, 3), 6), bd = mk(1, SN_SHAPE(16), 7);
    pair yd = mk(4, SN_SHAPE(2, 5, 6, 16), 0);
    CHECK_OK(sn_dwconv2d_nhwc(&xd.c, &wd.c, &bd.c, 1, &yd.c));
    CHECK_OK(sn_dwconv2d_nhwc(&xd.g, &wd.g, &bd.g, 1, &yd.g));
    compare("dwconv2d_nhwc 3x3 pad 1", &yd);
    pair yd0 = mk(4, SN_SHAPE(2, 3, 4, 16), 0);
    CHECK_OK(sn_dwconv2d_nhwc(&xd.c, &wd.c, NULL, 0, &yd0.c));
    CHECK_OK(sn_dwconv2d_nhwc(&xd.g, &wd.g, NULL, 0, &yd0.g));
    compare("dwconv2d_nhwc 3x3 no pad, no bias", &yd0);

    pair xg = mk(3, SN_SHAPE(3, 5, 40), 8), yg = mk(3, SN_SHAPE(3, 5, 20), 0);
    CHECK_OK(sn_glu(&xg.c, SN_ACT_SILU, &yg.c));
    CHECK_OK(sn_glu(&xg.g, SN_ACT_SILU, &yg.g));
    compare("glu silu", &yg);

    pair xr = mk(3, SN_SHAPE(2, 7, 24), 9), yr = mk(3, SN_SHAPE(2, 7, 24), 10), gate = mk(2, SN_SHAPE(2, 24), 11);
    CHECK_OK(sn_gated_add(&xr.c, &yr.c, &gate.c));
    CHECK_OK(sn_gated_add(&xr.g, &yr.g, &gate.g));
    compare("gated_add", &xr);
    CHECK_OK(sn_gated_add(&xr.c, &yr.c, NULL));
    CHECK_OK(sn_gated_add(&xr.g, &yr.g, NULL));
    compare("gated_add without gate", &xr);

    /* an fp32 table added to activations of the GPU's dtype (the DiT's positional embedding) */
    pair pa = mk(3, SN_SHAPE(2, 6, 16), 12), po = mk(3, SN_SHAPE(2, 6, 16), 0), pe = mk(2, SN_SHAPE(6, 16), 13);
    sn_tensor_free(&pe.g);
    CHECK_OK(sn_tensor_alloc(gpu, SN_F32, 2, SN_SHAPE(6, 16), &pe.g));
    CHECK_OK(sn_upload_convert(&pe.g, SN_F32, pe.c.data));
    CHECK_OK(sn_binary(SN_ADD, &pa.c, &pe.c, &po.c));
    CHECK_OK(sn_binary(SN_ADD, &pa.g, &pe.g, &po.g));
    compare("binary add of an fp32 table", &po);

    /* grouped 1x1 convolution (DC-AE's multi-scale projection): one GEMM batched over groups */
    pair xc = mk(4, SN_SHAPE(2, 12, 5, 7), 14), wc = mk(4, SN_SHAPE(8, 3, 1, 1), 15), yc = mk(4, SN_SHAPE(2, 8, 5, 7), 0);
    CHECK_OK(sn_conv2d(&xc.c, &wc.c, NULL, 1, 0, 4, &yc.c));
    CHECK_OK(sn_conv2d(&xc.g, &wc.g, NULL, 1, 0, 4, &yc.g));
    compare("conv2d 1x1 groups 4", &yc);
    pair wc3 = mk(4, SN_SHAPE(8, 3, 3, 3), 16), bc3 = mk(1, SN_SHAPE(8), 17), yc3 = mk(4, SN_SHAPE(2, 8, 5, 7), 0);
    CHECK_OK(sn_conv2d(&xc.c, &wc3.c, &bc3.c, 1, 1, 4, &yc3.c));
    CHECK_OK(sn_conv2d(&xc.g, &wc3.g, &bc3.g, 1, 1, 4, &yc3.g));
    compare("conv2d 3x3 groups 4, bias", &yc3);

    pair all[] = {x, y, q, k, v, ya, xd, wd, bd, yd, yd0, xg, yg, xr, yr, gate, pa, po, pe, xc, wc, yc, wc3, bc3, yc3};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) done(&all[i]);
}

static void dcae_ops(void) {
    /* conv2d_band with fused 2x upsampling: x_full [1, 6, 8, 9] -> y [1, 5, 16, 18] */
    pair x = mk(4, SN_SHAPE(1, 6, 8, 9), 21), w = mk(4, SN_SHAPE(5, 6, 3, 3), 22), b = mk(1, SN_SHAPE(5), 23);
    pair y = mk(4, SN_SHAPE(1, 5, 16, 18), 0);
    CHECK_OK(sn_conv2d_band(&x.c, 0, 8, &w.c, &b.c, 2, 1, 1, &y.c, 0));
    CHECK_OK(sn_conv2d_band(&x.g, 0, 8, &w.g, &b.g, 2, 1, 1, &y.g, 0));
    compare("conv2d_band up 2, whole image", &y);
    {
        /* output rows [5, 11) need upsampled rows 4..11, i.e. input rows 2..5 */
        sn_tensor xb, yb;
        size_t es = sn_dtype_size(gpu->act_dtype);
        CHECK_OK(sn_tensor_alloc(gpu, gpu->act_dtype, 4, SN_SHAPE(1, 6, 4, 9), &xb));
        for (int c = 0; c < 6; c++) {
            sn_tensor src = x.g, dst = xb;
            src.data = (char *)x.g.data + (size_t)((c * 8 + 2) * 9) * es;
            dst.data = (char *)xb.data + (size_t)(c * 4 * 9) * es;
            src.ndim = dst.ndim = 1;
            src.shape[0] = dst.shape[0] = 4 * 9;
            CHECK_OK(sn_copy(&dst, &src));
        }
        CHECK_OK(sn_tensor_alloc(gpu, gpu->act_dtype, 4, SN_SHAPE(1, 5, 6, 18), &yb));
        CHECK_OK(sn_conv2d_band(&xb, 2, 8, &w.g, &b.g, 2, 1, 1, &yb, 5));
        float *whole = fetch(&y.g), *band = fetch(&yb);
        int same = 1;
        for (int c = 0; c < 5; c++)
            for (int r = 0; r < 6; r++)
                if (memcmp(band + (c * 6 + r) * 18, whole + (c * 16 + 5 + r) * 18, 18 * sizeof(float))) same = 0;
        printf("conv2d_band: band rows [5, 11) %s the whole image's rows\n", same ? "equal" : "DIFFER FROM");
        CHECK(same, "banded conv2d_band rows differ from the whole image's");
        free(whole);
        free(band);
        sn_tensor_free(&xb);
        sn_tensor_free(&yb);
    }
    pair x2 = mk(4, SN_SHAPE(2, 4, 9, 9), 24), w2 = mk(4, SN_SHAPE(6, 4, 3, 3), 25), y2 = mk(4, SN_SHAPE(2, 6, 5, 5), 0);
    CHECK_OK(sn_conv2d_band(&x2.c, 0, 9, &w2.c, NULL, 1, 2, 1, &y2.c, 0));
    CHECK_OK(sn_conv2d_band(&x2.g, 0, 9, &w2.g, NULL, 1, 2, 1, &y2.g, 0));
    compare("conv2d_band stride 2, batch 2, no bias", &y2);

    pair xn = mk(4, SN_SHAPE(2, 12, 5, 7), 26), wn = mk(1, SN_SHAPE(12), 27), bn = mk(1, SN_SHAPE(12), 28);
    pair yn = mk(4, SN_SHAPE(2, 12, 5, 7), 0);
    CHECK_OK(sn_channel_norm(&xn.c, &wn.c, &bn.c, 1e-5f, SN_ACT_SILU, &yn.c));
    CHECK_OK(sn_channel_norm(&xn.g, &wn.g, &bn.g, 1e-5f, SN_ACT_SILU, &yn.g));
    compare("channel_norm + silu", &yn);
    CHECK_OK(sn_channel_norm(&xn.c, &wn.c, NULL, 1e-5f, SN_ACT_NONE, &xn.c));
    CHECK_OK(sn_channel_norm(&xn.g, &wn.g, NULL, 1e-5f, SN_ACT_NONE, &xn.g));
    compare("channel_norm in place, no bias", &xn);

    pair qkv = mk(4, SN_SHAPE(2, 3, 24, 300), 29), ya = mk(4, SN_SHAPE(2, 3, 8, 300), 0);
    CHECK_OK(sn_linear_attention_relu(&qkv.c, 1e-15f, &ya.c));
    CHECK_OK(sn_linear_attention_relu(&qkv.g, 1e-15f, &ya.g));
    compare("linear_attention_relu (3 heads, d 8, 300 tokens)", &ya);

    /* the two-pass form: the state summed over two token chunks (fp32 state), then applied */
    {
        pair c1 = mk(4, SN_SHAPE(2, 3, 24, 300), 36), c2 = mk(4, SN_SHAPE(2, 3, 24, 130), 37);
        pair y2 = mk(4, SN_SHAPE(2, 3, 8, 130), 0);
        sn_tensor sc, sg;
        CHECK_OK(sn_tensor_alloc(cpu, SN_F32, 4, SN_SHAPE(2, 3, 9, 8), &sc));
        CHECK_OK(sn_tensor_alloc(gpu, SN_F32, 4, SN_SHAPE(2, 3, 9, 8), &sg));
        CHECK_OK(sn_fill(&sc, 0.0f));
        CHECK_OK(sn_fill(&sg, 0.0f));
        CHECK_OK(sn_linear_attention_state(&c1.c, &sc));
        CHECK_OK(sn_linear_attention_state(&c1.g, &sg));
        CHECK_OK(sn_linear_attention_state(&c2.c, &sc));
        CHECK_OK(sn_linear_attention_state(&c2.g, &sg));
        float *st = malloc(2 * 3 * 9 * 8 * 4);
        CHECK_OK(sn_download_f32(&sg, st));
        tu_check_close("linear_attention_state over two chunks", st, sc.data, 2 * 3 * 9 * 8, tol);
        free(st);
        CHECK_OK(sn_linear_attention_apply(&c2.c, &sc, 1e-15f, &y2.c));
        CHECK_OK(sn_linear_attention_apply(&c2.g, &sg, 1e-15f, &y2.g));
        compare("linear_attention_apply", &y2);
        sn_tensor_free(&sc), sn_tensor_free(&sg);
        done(&c1), done(&c2), done(&y2);
    }

    /* up shortcut: x [1, 8, 4, 5], f 2 -> y [1, 4, 8, 10]; whole, then output rows [2, 6) from x rows [1, 3) */
    pair xs = mk(4, SN_SHAPE(1, 8, 4, 5), 30), ys = mk(4, SN_SHAPE(1, 4, 8, 10), 31);
    CHECK_OK(sn_shortcut_dup(&xs.c, 0, 2, &ys.c, 0));
    CHECK_OK(sn_shortcut_dup(&xs.g, 0, 2, &ys.g, 0));
    compare("shortcut_dup f 2", &ys);
    pair xsb = mk(4, SN_SHAPE(1, 8, 2, 5), 32), ysb = mk(4, SN_SHAPE(1, 4, 4, 10), 33);
    CHECK_OK(sn_shortcut_dup(&xsb.c, 1, 2, &ysb.c, 2));
    CHECK_OK(sn_shortcut_dup(&xsb.g, 1, 2, &ysb.g, 2));
    compare("shortcut_dup banded", &ysb);
    pair xa = mk(4, SN_SHAPE(1, 4, 8, 10), 34), yav = mk(4, SN_SHAPE(1, 8, 4, 5), 35);
    CHECK_OK(sn_shortcut_avg(&xa.c, 2, &yav.c));
    CHECK_OK(sn_shortcut_avg(&xa.g, 2, &yav.g));
    compare("shortcut_avg f 2", &yav);

    pair all[] = {x, w, b, y, x2, w2, y2, xn, wn, bn, yn, qkv, ya, xs, ys, xsb, ysb, xa, yav};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) done(&all[i]);
}

/* A graph: upload host values into scratch, then linear + bias + GELU-tanh into `out`. */
typedef struct graph_call {
    sn_backend *be;
    const float *host; /* [4, 16] */
    const sn_tensor *w, *b;
    sn_tensor *out;
} graph_call;

static sana_status graph_fn(void *user) {
    graph_call *g = user;
    sn_arena_mark m = sn_scratch_mark(g->be);
    sn_tensor in;
    sana_status st = sn_tensor_scratch(g->be, g->be->act_dtype, 2, SN_SHAPE(4, 16), &in);
    if (st == SANA_OK) st = sn_upload_convert(&in, SN_F32, g->host);
    if (st == SANA_OK) st = sn_linear(&in, g->w, g->b, SN_ACT_GELU_TANH, g->out);
    sn_scratch_reset(g->be, m);
    return st;
}

static sana_status download_fn(void *user) {
    float h[96];
    return sn_download_f32(user, h);
}

static void graphs_and_memory(void) {
    pair w = mk(2, SN_SHAPE(24, 16), 41), b = mk(1, SN_SHAPE(24), 42), out = mk(2, SN_SHAPE(4, 24), 0);
    sn_graph *graph = NULL;
    size_t in_use = 0, peak = 0, peak2 = 0;
    for (int call = 0; call < 4; call++) {
        float host[64];
        tu_fill_random(host, 64, 100 + (uint64_t)call);
        /* what the CPU computes on the same (rounded) inputs */
        pair in = mk(2, SN_SHAPE(4, 16), 100 + (uint64_t)call);
        memcpy(host, in.c.data, sizeof host);
        CHECK_OK(sn_linear(&in.c, &w.c, &b.c, SN_ACT_GELU_TANH, &out.c));
        graph_call gc = {gpu, host, &w.g, &b.g, &out.g};
        CHECK_OK(sn_graph_run(gpu, &graph, graph_fn, &gc));
        CHECK(graph != NULL, "sn_graph_run made no graph");
        memset(host, 0, sizeof host); /* the launch must not read the caller's buffer any more */
        CHECK_OK(sn_backend_sync(gpu));
        char what[64];
        snprintf(what, sizeof what, "graph run %d (new uploads)", call);
        compare(what, &out);
        done(&in);
        if (call == 1) CHECK_OK(sn_backend_memory(gpu, &in_use, &peak));
    }
    CHECK_OK(sn_backend_memory(gpu, &in_use, &peak2));
    printf("device memory: %zu bytes in use, peak %zu (after the second graph run %zu)\n", in_use, peak2, peak);
    CHECK(in_use > 0 && peak2 >= in_use, "memory counters %zu / %zu", in_use, peak2);
    CHECK(peak2 == peak, "replays allocated: peak %zu -> %zu", peak, peak2);
    sn_graph_free(gpu, graph);
    graph = NULL;

    /* a download inside a graph run is refused, and the backend stays usable */
    float h[96];
    CHECK_STATUS(sn_graph_run(gpu, &graph, download_fn, &out.g), SANA_ERR_INTERNAL);
    sn_graph_free(gpu, graph);
    CHECK_OK(sn_fill(&out.g, 1.0f));
    CHECK_OK(sn_download_f32(&out.g, h));
    CHECK(h[0] == 1.0f && h[95] == 1.0f, "fill after a refused graph run: %g", h[0]);
    done(&w);
    done(&b);
    done(&out);
}

int main(void) {
    gpu = cuda_or_skip(SANA_PRECISION_F32);
    CHECK_OK(sn_backend_cpu_create(0, &cpu));
    size_t u, p;
    CHECK_STATUS(sn_backend_memory(cpu, &u, &p), SANA_ERR_UNSUPPORTED);
    const sana_precision modes[2] = {SANA_PRECISION_F32, SANA_PRECISION_BF16};
    const double tols[2] = {1e-4, 2e-2};
    for (int m = 0; m < 2; m++) {
        if (m > 0) {
            gpu = NULL;
            CHECK_OK(sn_backend_cuda_create(0, modes[m], &gpu)); /* a failure here fails the test */
            if (!gpu) break;
        }
        tol = tols[m];
        printf("--- %s mode, tolerance %g\n", m ? "bf16" : "fp32", tol);
        uploads();
        text_and_dit_ops();
        dcae_ops();
        graphs_and_memory();
        sn_backend_free(gpu);
    }
    sn_backend_free(cpu);
    return tu_finish("test_cuda_model_ops");
}
