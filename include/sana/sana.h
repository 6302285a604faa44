/*
 * libsana — NVIDIA SANA text-to-image models as an embeddable C library.
 *
 * This header is the whole public API and its manual. Read it top to bottom.
 *
 *   sana_context_create()       one per thread of work: backend, threads, log, cancellation
 *   sana_model_load()           a SANA model folder in the diffusers layout (read-only once loaded)
 *   sana_generate()             prompt in, images out
 *   sana_image_save_png()       PNG with the generation parameters in a tEXt chunk
 *
 * Conventions (the stable ABI):
 *   - Every object is opaque, made by a create or load call and released by its matching free call.
 *     Every object the library allocates, the library frees. *_free(NULL) is a no-op.
 *   - Params structs go in by pointer, never by value. Each begins with `uint32_t struct_size`;
 *     fill it with the matching sana_*_params_init(), then change the fields you need. The library
 *     reads only the fields that the caller's struct_size covers, so a program built against an
 *     older header keeps working with a newer library. Fields are appended, never reordered.
 *   - Every call that can fail returns sana_status (SANA_OK = 0). sana_status_string() names a
 *     code; sana_context_last_error() (or sana_last_error() for calls without a context) says
 *     what went wrong: which file, which tensor, which key. The library never calls exit() or
 *     abort() on anything a caller can pass.
 *   - Threads: a sana_model is read-only after load and may be shared by any number of contexts
 *     on any threads. One context runs one call at a time (calls on the same context from several
 *     threads are serialised); separate contexts run in parallel. sana_context_cancel() may be
 *     called from any thread at any time.
 *
 * Symbols: only sana_* are exported. The calls under SANA_EXPERIMENTAL may change in any release;
 * use them only when linking statically.
 */
#ifndef SANA_SANA_H
#define SANA_SANA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(SANA_BUILD_SHARED)
#define SANA_API __declspec(dllexport)
#elif defined(_WIN32) && defined(SANA_USE_SHARED)
#define SANA_API __declspec(dllimport)
#elif defined(__GNUC__)
#define SANA_API __attribute__((visibility("default")))
#else
#define SANA_API
#endif

/* ------------------------------------------------------------------------------------------ */
/* Version                                                                                      */
/* ------------------------------------------------------------------------------------------ */

#define SANA_VERSION_MAJOR 0
#define SANA_VERSION_MINOR 1
#define SANA_VERSION_PATCH 0
/* major * 10000 + minor * 100 + patch, for compile-time checks. */
#define SANA_VERSION_NUMBER (SANA_VERSION_MAJOR * 10000 + SANA_VERSION_MINOR * 100 + SANA_VERSION_PATCH)

/* The version of the library actually loaded, e.g. "0.1.0", and its number as above. Compare
 * with SANA_VERSION_NUMBER to detect a header/library mismatch. */
SANA_API const char *sana_version(void);
SANA_API uint32_t sana_version_number(void);

/* ------------------------------------------------------------------------------------------ */
/* Status codes and errors                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef enum sana_status {
    SANA_OK = 0,
    SANA_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a size out of range, a NaN guidance scale... */
    SANA_ERR_NOT_FOUND = 2,        /* a file, folder, component, tensor or config key is missing */
    SANA_ERR_IO = 3,               /* a file exists but could not be read or written */
    SANA_ERR_FORMAT = 4,           /* a file is malformed: safetensors, JSON, PNG, tokenizer */
    SANA_ERR_UNSUPPORTED = 5,      /* valid, but this build or model cannot do it */
    SANA_ERR_OUT_OF_MEMORY = 6,    /* host or device memory exhausted, or a size too large */
    SANA_ERR_CANCELLED = 7,        /* sana_context_cancel() stopped the call */
    SANA_ERR_BACKEND = 8,          /* the device (CUDA, cuBLAS, cuDNN) reported an error */
    SANA_ERR_INTERNAL = 9          /* a bug in libsana: please report it with the error text */
} sana_status;

/* A static name for a status code ("SANA_ERR_FORMAT: malformed file"). Never NULL. */
SANA_API const char *sana_status_string(sana_status status);

/* The error text of the last failed call made on this thread without a context (tokenizer and
 * image calls, sana_context_create). Empty string when there was none. Valid until the next
 * call on this thread. */
SANA_API const char *sana_last_error(void);

/* ------------------------------------------------------------------------------------------ */
/* Logging                                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef enum sana_log_level {
    SANA_LOG_ERROR = 0,
    SANA_LOG_WARN = 1,
    SANA_LOG_INFO = 2,
    SANA_LOG_DEBUG = 3
} sana_log_level;

/* A log sink. `message` has no trailing newline and is valid only during the call. */
typedef void (*sana_log_fn)(sana_log_level level, const char *message, void *user_data);

/* The sink for messages from calls that have no context, and for contexts whose params set no
 * sink. NULL restores the default (warnings and errors to stderr). Not thread-safe with respect
 * to concurrent logging: set it once at start-up. */
SANA_API void sana_log_set_default(sana_log_fn fn, void *user_data, sana_log_level max_level);

/* ------------------------------------------------------------------------------------------ */
/* Context: where work runs                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct sana_context sana_context;

typedef enum sana_backend {
    SANA_BACKEND_AUTO = 0, /* CUDA when built with it and a GPU is present, else CPU */
    SANA_BACKEND_CPU = 1,
    SANA_BACKEND_CUDA = 2
} sana_backend;

/* Compute precision. The CPU backend always computes in fp32. */
typedef enum sana_precision {
    SANA_PRECISION_AUTO = 0, /* bf16 on GPUs that have it, else fp16; fp32 on the CPU */
    SANA_PRECISION_F32 = 1,
    SANA_PRECISION_F16 = 2,
    SANA_PRECISION_BF16 = 3
} sana_precision;

typedef struct sana_context_params {
    uint32_t struct_size;
    sana_backend backend;     /* default SANA_BACKEND_AUTO */
    int32_t device;           /* CUDA device ordinal; default 0 */
    int32_t n_threads;        /* CPU threads, 1..1024; 0 = one per core (default) or
                               * OMP_NUM_THREADS. Outside that: SANA_ERR_INVALID_ARGUMENT.
                               * The CPU backend runs on worker threads of its own (made per
                               * calling thread, idle ones sleep). While it computes, a pthread
                               * OpenBLAS is set to 1 thread process-wide; the application's
                               * count is restored after (docs/api.md, "CPU threads"). */
    sana_precision precision; /* default SANA_PRECISION_AUTO */
    sana_log_fn log;          /* NULL = the default sink */
    void *log_user_data;
    sana_log_level log_level; /* messages above this level are dropped; default SANA_LOG_WARN */
} sana_context_params;

SANA_API void sana_context_params_init(sana_context_params *params);

/* Creates a context. params may be NULL for the defaults. On failure *out is NULL and
 * sana_last_error() says why (e.g. SANA_BACKEND_CUDA asked of a build without CUDA). */
SANA_API sana_status sana_context_create(const sana_context_params *params, sana_context **out);
SANA_API void sana_context_free(sana_context *ctx);

/* The backend the context actually runs on (never SANA_BACKEND_AUTO). */
SANA_API sana_backend sana_context_backend(const sana_context *ctx);

/* The error text of the last failed call on this context; "" when the last call succeeded.
 * Valid until the next call on the context. */
SANA_API const char *sana_context_last_error(const sana_context *ctx);

/* Asks the call now running on ctx (if any) to stop. Thread-safe and async-signal-safe. The
 * running call stops between denoising steps or decode bands and returns SANA_ERR_CANCELLED.
 * The request is cleared when the next call on the context starts. */
SANA_API void sana_context_cancel(sana_context *ctx);

/* ------------------------------------------------------------------------------------------ */
/* Model: a SANA folder in the diffusers layout                                                 */
/* ------------------------------------------------------------------------------------------ */

typedef struct sana_model sana_model;

/* Components of a pipeline folder, as a bit set. */
enum {
    SANA_COMPONENT_TOKENIZER = 1u << 0,
    SANA_COMPONENT_TEXT_ENCODER = 1u << 1,
    SANA_COMPONENT_TRANSFORMER = 1u << 2,
    SANA_COMPONENT_VAE = 1u << 3,
    SANA_COMPONENT_SCHEDULER = 1u << 4,
    SANA_COMPONENT_ALL = 0x1fu
};

typedef struct sana_model_params {
    uint32_t struct_size;
    uint32_t components;    /* which to load; default SANA_COMPONENT_ALL (those present); 0 or a
                             * bit outside SANA_COMPONENT_ALL is SANA_ERR_INVALID_ARGUMENT */
    const char *variant;    /* weight file variant: NULL/"" = plain, "fp16", "bf16" */
    sana_precision weights; /* dtype weights are kept in on the device; default AUTO. Today the
                             * weights follow the context's precision whatever this says; a value
                             * outside sana_precision is SANA_ERR_INVALID_ARGUMENT */
} sana_model_params;

SANA_API void sana_model_params_init(sana_model_params *params);

/* Loads a model folder: a whole pipeline (model_index.json with tokenizer/, text_encoder/,
 * transformer/, vae/, scheduler/) or a single component folder (a transformer/ or vae/ folder
 * on its own, holding config.json). Weights are memory-mapped and converted to the context's
 * device and precision. The model may be used with any context of the same backend. */
SANA_API sana_status sana_model_load(sana_context *ctx, const char *path,
                                     const sana_model_params *params, sana_model **out);
SANA_API void sana_model_free(sana_model *model);

/* Releases the text encoder's weights (e.g. after the prompts are encoded, to make room for a
 * large decode). Later calls that need it return SANA_ERR_UNSUPPORTED. */
SANA_API sana_status sana_model_release_text_encoder(sana_model *model);

typedef enum sana_model_kind {
    SANA_MODEL_UNKNOWN = 0,
    SANA_MODEL_SANA = 1,  /* SanaPipeline: Flow-DPM-Solver, CFG */
    SANA_MODEL_SPRINT = 2 /* SanaSprintPipeline: SCM, guidance embedding */
} sana_model_kind;

typedef struct sana_model_info {
    uint32_t struct_size;
    sana_model_kind kind;
    uint32_t components;      /* bit set of what is loaded */
    int32_t latent_channels;  /* e.g. 32 */
    int32_t vae_scale_factor; /* pixels per latent cell, e.g. 32 */
    int32_t sample_size;      /* transformer's native latent size, e.g. 32 for 1024² */
    int32_t text_hidden_size; /* caption channels, e.g. 2304 */
    int64_t transformer_params;
    int64_t text_encoder_params;
    int64_t vae_params;
} sana_model_info;

SANA_API void sana_model_info_init(sana_model_info *info);
SANA_API sana_status sana_model_get_info(const sana_model *model, sana_model_info *info);

/* ------------------------------------------------------------------------------------------ */
/* Images                                                                                       */
/* ------------------------------------------------------------------------------------------ */

typedef struct sana_image sana_image;

/* A blank image of 3 (RGB) or 4 (RGBA) 8-bit channels. */
SANA_API sana_status sana_image_create(uint32_t width, uint32_t height, uint32_t channels,
                                       sana_image **out);
SANA_API void sana_image_free(sana_image *image);

SANA_API uint32_t sana_image_width(const sana_image *image);
SANA_API uint32_t sana_image_height(const sana_image *image);
SANA_API uint32_t sana_image_channels(const sana_image *image);
SANA_API size_t sana_image_stride(const sana_image *image); /* bytes per row */
/* Row-major pixels, `stride` bytes per row, channels interleaved. Owned by the image. */
SANA_API uint8_t *sana_image_pixels(sana_image *image);
SANA_API const uint8_t *sana_image_pixels_const(const sana_image *image);

/* The generation parameters text ("prompt, seed, steps...") of a generated image, or of a PNG
 * read with a tEXt "parameters" chunk; "" when none. */
SANA_API const char *sana_image_parameters(const sana_image *image);

/* Writes an 8-bit RGB/RGBA PNG. `parameters` (may be NULL: the image's own) goes into a tEXt
 * chunk with keyword "parameters". The same image and text always give the same bytes. */
SANA_API sana_status sana_image_save_png(const sana_image *image, const char *path,
                                         const char *parameters);
/* Reads a PNG (any bit depth and colour type, converted to 8-bit RGB, or RGBA when it has
 * alpha). */
SANA_API sana_status sana_image_load_png(const char *path, sana_image **out);

/* ------------------------------------------------------------------------------------------ */
/* Tensors: what the low-level stages pass around                                               */
/* ------------------------------------------------------------------------------------------ */

/* A float32 array of up to 4 dimensions, row-major, on the host or on the context's device. */
typedef struct sana_tensor sana_tensor;

/* A host tensor holding a copy of `data` (or zeros when data is NULL). */
SANA_API sana_status sana_tensor_create(int32_t ndim, const int64_t *shape, const float *data,
                                        sana_tensor **out);
SANA_API void sana_tensor_free(sana_tensor *tensor);
SANA_API int32_t sana_tensor_ndim(const sana_tensor *tensor);
SANA_API int64_t sana_tensor_dim(const sana_tensor *tensor, int32_t axis);
SANA_API int64_t sana_tensor_numel(const sana_tensor *tensor);
/* Copies the values to `dst`, which holds `capacity` floats (from the device when needed). */
SANA_API sana_status sana_tensor_read(const sana_tensor *tensor, float *dst, size_t capacity);

/* ------------------------------------------------------------------------------------------ */
/* Sampler: solver and schedule                                                                 */
/* ------------------------------------------------------------------------------------------ */

typedef enum sana_solver {
    SANA_SOLVER_DEFAULT = 0,    /* the model's: Flow-DPM-Solver for SANA, SCM for Sprint */
    SANA_SOLVER_FLOW_DPM = 1,   /* DPM-Solver++ 2M on flow sigmas (DPMSolverMultistepScheduler) */
    SANA_SOLVER_FLOW_EULER = 2, /* FlowMatchEulerDiscreteScheduler */
    SANA_SOLVER_SCM = 3         /* SCMScheduler, TrigFlow, 1-4 steps (Sprint) */
} sana_solver;

typedef struct sana_sampler sana_sampler;

typedef struct sana_sampler_params {
    uint32_t struct_size;
    sana_solver solver;           /* default SANA_SOLVER_DEFAULT */
    int32_t steps;                /* 0 = the model's default (20 SANA, 2 Sprint); at most 1000 */
    float flow_shift;             /* 0 = from the model's scheduler config; else finite, > 0 */
    float max_timesteps;          /* SCM: 0 = scheduler default (1.57080); else in (0, 1.6] */
    float intermediate_timesteps; /* SCM, 2 steps: 0 = scheduler default (1.3); else in
                                   * (0, max_timesteps) */
} sana_sampler_params;

SANA_API void sana_sampler_params_init(sana_sampler_params *params);
/* A sampler for `model` (its scheduler config supplies the defaults). */
SANA_API sana_status sana_sampler_create(const sana_model *model, const sana_sampler_params *params,
                                         sana_sampler **out);
SANA_API void sana_sampler_free(sana_sampler *sampler);
/* The model timesteps the sampler will visit (`capacity` floats; *count gets the number). */
SANA_API sana_status sana_sampler_timesteps(const sana_sampler *sampler, float *timesteps,
                                            size_t capacity, size_t *count);

/* ------------------------------------------------------------------------------------------ */
/* Generation                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* Called after every denoising step (step counts from 1). Return nothing; use
 * sana_context_cancel() to stop. Runs on the thread that called sana_generate(). */
typedef void (*sana_progress_fn)(int32_t step, int32_t steps, void *user_data);

/* Called after every step with the current (scaled) latents, host float32 [batch, C, H, W],
 * valid during the call only. */
typedef void (*sana_preview_fn)(int32_t step, const float *latents, int32_t batch,
                                int32_t channels, int32_t height, int32_t width, void *user_data);

typedef enum sana_noise {
    SANA_NOISE_TORCH_CPU = 0 /* bit-identical to torch.randn with a CPU torch.Generator */
} sana_noise;

/* Ranges (SANA_ERR_INVALID_ARGUMENT outside them, before any work; docs/api.md lists them all):
 * width and height 1..65536 (SANA_ERR_OUT_OF_MEMORY above, or when the estimated host memory of
 * the call exceeds the machine's), batch 1..64, steps 0..1000, guidance_scale finite, pag_scale
 * finite and >= 0, each PAG layer a block of the transformer, max_sequence_length 1..4096,
 * strength 0..1. The seed takes every value. */
typedef struct sana_generate_params {
    uint32_t struct_size;
    const char *prompt;          /* required, UTF-8 */
    const char *negative_prompt; /* NULL = "" */
    int32_t width;               /* pixels; default 1024 */
    int32_t height;              /* pixels; default 1024 */
    int32_t resolution_binning;  /* 1 (default): snap to the model's aspect-ratio bins, resize back */
    int32_t batch;               /* images per prompt; default 1 */
    uint64_t seed;               /* default 0 */
    sana_noise noise;            /* default SANA_NOISE_TORCH_CPU */
    const sana_sampler *sampler; /* NULL = the model's default solver and steps */
    int32_t steps;               /* overrides the sampler's steps when > 0 */
    float guidance_scale;        /* CFG scale (SANA, default 4.5) or embedded guidance (Sprint) */
    float pag_scale;             /* perturbed-attention guidance; 0 = off (default) */
    const int32_t *pag_layers;   /* transformer blocks PAG applies to */
    int32_t n_pag_layers;
    int32_t complex_human_instruction; /* 1 (default): prefix the model's instruction text */
    const sana_image *init_image;      /* img2img: NULL = text to image */
    float strength;                    /* img2img: 0..1, default 0.8 */
    int32_t max_sequence_length;       /* default 300 */
    sana_progress_fn progress;
    void *progress_user_data;
    sana_preview_fn preview;
    void *preview_user_data;
    size_t decode_memory_budget; /* bytes the decoder may hold (all its buffers); 0 = unlimited */
} sana_generate_params;

SANA_API void sana_generate_params_init(sana_generate_params *params);

/* Text to image (or image to image with init_image). `images` is a caller array of
 * params->batch pointers; each receives a new sana_image to be freed with sana_image_free().
 * On failure every entry is NULL. */
SANA_API sana_status sana_generate(sana_context *ctx, const sana_model *model,
                                   const sana_generate_params *params, sana_image **images);

/* ------------------------------------------------------------------------------------------ */
/* Low-level stages, for engines that run their own loop                                        */
/* ------------------------------------------------------------------------------------------ */

typedef struct sana_encode_params {
    uint32_t struct_size;
    int32_t complex_human_instruction; /* 1 (default) */
    int32_t max_sequence_length;       /* default 300; 1..8192 */
    int32_t nvlabs_compat;             /* 0 (default): diffusers behaviour; 1: the NVlabs code's */
    /* 0 (default): the padding rows (mask 0) of *embeddings are zero and cost nothing: the
     * encoder runs only up to the longest prompt's last token, which (attention being causal)
     * gives the other rows as the reference does. The DiT never attends a padding row under its
     * own mask, so images are the same. 1: padding rows as the reference computes them, for
     * embeddings used with another mask. nvlabs_compat implies 1 (NVlabs' unconditional branch
     * attends the negative prompt's rows through the positive prompt's mask). */
    int32_t exact_padding;
} sana_encode_params;

SANA_API void sana_encode_params_init(sana_encode_params *params);

/* Encodes `n` prompts to the DiT's text conditioning: *embeddings [n, L, hidden] and *mask [n, L]
 * (1 = attend, 0 = padding), host tensors. As diffusers' SanaPipeline.encode_prompt: the prompt is
 * lower-cased and stripped (NVlabs mode: stripped only), the complex human instruction is
 * prefixed, and <bos> plus the prompt's tokens are kept (L = max_sequence_length rows). A prompt
 * longer than L - 1 tokens is truncated at its end, as the reference's tokenizer call does. For
 * the unconditional (negative) prompt, encode it with complex_human_instruction = 0; in NVlabs
 * mode pass the positive prompt's mask for the unconditional branch. Needs the model's tokenizer
 * and text encoder (SANA_ERR_UNSUPPORTED after sana_model_release_text_encoder()). */
SANA_API sana_status sana_encode_prompt(sana_context *ctx, const sana_model *model,
                                        const char *const *prompts, int32_t n,
                                        const sana_encode_params *params,
                                        sana_tensor **embeddings, sana_tensor **mask);

typedef struct sana_denoise_params {
    uint32_t struct_size;
    const sana_tensor *embeddings;        /* [B, L, hidden] from sana_encode_prompt */
    const sana_tensor *mask;              /* [B, L] */
    const sana_tensor *uncond_embeddings; /* NULL = no CFG */
    const sana_tensor *uncond_mask;
    const sana_sampler *sampler;
    float guidance_scale;
    float pag_scale;           /* finite, >= 0 (as sana_generate) */
    const int32_t *pag_layers; /* block indices, each 0..num_layers-1, checked before any work */
    int32_t n_pag_layers;      /* >= 0; > 0 needs pag_layers */
    int32_t first_step; /* img2img: start at this step index; default 0 */
    sana_progress_fn progress;
    void *progress_user_data;
    /* SCM (Sprint) only: the seed the initial noise was drawn with. The solver's renoise draws
     * continue that generator after the initial draw, so sana_noise_fill(seed) (times 0.5, the
     * Sprint sigma_data) followed by sana_denoise reproduces sana_generate. Default 0. */
    uint64_t seed;
} sana_denoise_params;

SANA_API void sana_denoise_params_init(sana_denoise_params *params);

/* Runs the sampler's steps on `latents` [B, C, H, W] (the initial noise, already scaled by the
 * sampler's initial sigma) in place. */
SANA_API sana_status sana_denoise(sana_context *ctx, const sana_model *model,
                                  const sana_denoise_params *params, sana_tensor *latents);

/* Fills `latents` [B, C, H, W] with the seeded noise torch.randn would give. */
SANA_API sana_status sana_noise_fill(sana_noise kind, uint64_t seed, sana_tensor *latents);

typedef enum sana_decode_mode {
    SANA_DECODE_FULL = 0,   /* whole latent at once (or in exact bands when a budget is set) */
    SANA_DECODE_TILED = 1   /* diffusers' enable_tiling: tiles blended linearly (not exact) */
} sana_decode_mode;

typedef struct sana_decode_params {
    uint32_t struct_size;
    sana_decode_mode mode;
    size_t memory_budget;    /* FULL: bytes of all buffers; bands are exact; 0 = unlimited */
    int32_t tile_size;       /* TILED: tile edge in pixels; default 512 */
    int32_t tile_stride;     /* TILED: default 448 */
} sana_decode_params;

SANA_API void sana_decode_params_init(sana_decode_params *params);

/* Decodes latents [B, C, h, w] (already divided by nothing: the call applies scaling_factor) to
 * B images of (h * f) x (w * f) pixels. `images` is a caller array of B pointers. Latents whose
 * decode would need more host memory than the machine has (estimated: the images, and on the CPU
 * the decoder's activations, or memory_budget when set) are SANA_ERR_OUT_OF_MEMORY before any
 * allocation; so are sana_denoise's and sana_encode_image's inputs, likewise estimated. */
SANA_API sana_status sana_decode_latents(sana_context *ctx, const sana_model *model,
                                         const sana_tensor *latents,
                                         const sana_decode_params *params, sana_image **images);

/* Encodes an RGB image to latents [1, C, H/f, W/f], multiplied by scaling_factor. */
SANA_API sana_status sana_encode_image(sana_context *ctx, const sana_model *model,
                                       const sana_image *image, sana_tensor **latents);

/* ------------------------------------------------------------------------------------------ */
/* Tokenizer (Gemma's tokenizer.json), usable on its own                                        */
/* ------------------------------------------------------------------------------------------ */

typedef struct sana_tokenizer sana_tokenizer;

/* Loads a tokenizer.json file, or a folder holding one (and tokenizer_config.json, when present,
 * for the BOS/EOS settings). Errors go to sana_last_error(). */
SANA_API sana_status sana_tokenizer_load(const char *path, sana_tokenizer **out);
SANA_API void sana_tokenizer_free(sana_tokenizer *tok);

/* Encodes `len` bytes of UTF-8 text (BOS added when add_special is 1, as the config says).
 * Writes at most `capacity` ids; *n_ids gets the full count (call with capacity 0 to size).
 * The ids equal those of the Python `tokenizers` package. Bytes that are not valid UTF-8 are
 * read as Python's bytes.decode("utf-8", "replace") reads them (each maximal invalid sequence
 * becomes U+FFFD). Nothing is truncated: a long prompt gives all its ids. */
SANA_API sana_status sana_tokenizer_encode(const sana_tokenizer *tok, const char *text, size_t len,
                                           int32_t add_special, int32_t *ids, size_t capacity,
                                           size_t *n_ids);

/* Decodes ids to UTF-8 (special tokens skipped when skip_special is 1). Writes at most
 * `capacity` bytes, the terminating NUL included (the text is cut to capacity - 1 bytes);
 * *len gets the full length without the NUL (size the buffer with *len + 1). An id
 * outside the vocabulary is SANA_ERR_INVALID_ARGUMENT. */
SANA_API sana_status sana_tokenizer_decode(const sana_tokenizer *tok, const int32_t *ids,
                                           size_t n_ids, int32_t skip_special, char *text,
                                           size_t capacity, size_t *len);

SANA_API int32_t sana_tokenizer_vocab_size(const sana_tokenizer *tok);

#ifdef __cplusplus
}
#endif

#endif /* SANA_SANA_H */
