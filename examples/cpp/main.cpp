// A C++ host of libsana: RAII handles, exceptions carrying the library's message, a progress
// bar, Ctrl-C to cancel. Built through pkg-config (see the Makefile).
//
//   sana-cpp MODEL_DIR "a prompt" out.png [--size WxH] [--steps N] [--seed S]
#include <sana/sana.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace sana {

struct Error : std::runtime_error {
    sana_status status;
    Error(sana_status s, const std::string &what) : std::runtime_error(what), status(s) {}
};

inline void check(sana_status s, const char *call, const sana_context *ctx = nullptr) {
    if (s == SANA_OK) return;
    const char *msg = ctx ? sana_context_last_error(ctx) : sana_last_error();
    throw Error(s, std::string(call) + ": " + sana_status_string(s) + ": " + msg);
}

template <class T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using Context = std::unique_ptr<sana_context, Deleter<sana_context, sana_context_free>>;
using Model = std::unique_ptr<sana_model, Deleter<sana_model, sana_model_free>>;
using Image = std::unique_ptr<sana_image, Deleter<sana_image, sana_image_free>>;

}  // namespace sana

static std::atomic<sana_context *> g_running{nullptr};

extern "C" void on_sigint(int) {
    // sana_context_cancel is async-signal-safe (sana.h).
    if (sana_context *c = g_running.load()) sana_context_cancel(c);
}

static void progress(int32_t step, int32_t steps, void *) {
    const int width = 30, done = width * step / steps;
    std::fprintf(stderr, "\r[%.*s%*s] %d/%d", done, "##############################", width - done, "",
                 step, steps);
    if (step == steps) std::fputc('\n', stderr);
}

int main(int argc, char **argv) try {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL_DIR PROMPT OUT.png [--size WxH] [--steps N] [--seed S]\n",
                     argv[0]);
        return 2;
    }
    int width = 1024, height = 1024, steps = 0;
    unsigned long long seed = 0;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--size") && std::sscanf(argv[i + 1], "%dx%d", &width, &height) == 2) continue;
        if (!std::strcmp(argv[i], "--steps")) { steps = std::atoi(argv[i + 1]); continue; }
        if (!std::strcmp(argv[i], "--seed")) { seed = std::strtoull(argv[i + 1], nullptr, 10); continue; }
        throw std::invalid_argument(std::string("unknown option ") + argv[i]);
    }
    std::printf("libsana %s (built against %d)\n", sana_version(), SANA_VERSION_NUMBER);

    sana_context *raw_ctx = nullptr;
    sana::check(sana_context_create(nullptr, &raw_ctx), "sana_context_create");
    sana::Context ctx(raw_ctx);

    sana_model *raw_model = nullptr;
    sana::check(sana_model_load(ctx.get(), argv[1], nullptr, &raw_model), "sana_model_load", ctx.get());
    sana::Model model(raw_model);

    sana_generate_params p;
    sana_generate_params_init(&p);
    p.prompt = argv[2];
    p.width = width;
    p.height = height;
    p.resolution_binning = 0;
    p.steps = steps;
    p.seed = seed;
    p.progress = progress;

    std::vector<sana_image *> out(1, nullptr);
    g_running = ctx.get();
    std::signal(SIGINT, on_sigint);
    sana_status st = sana_generate(ctx.get(), model.get(), &p, out.data());
    g_running = nullptr;
    sana::check(st, "sana_generate", ctx.get());
    sana::Image image(out[0]);

    sana::check(sana_image_save_png(image.get(), argv[3], nullptr), "sana_image_save_png");
    std::printf("%ux%u -> %s\nparameters: %s\n", sana_image_width(image.get()),
                sana_image_height(image.get()), argv[3], sana_image_parameters(image.get()));
    return 0;
} catch (const sana::Error &e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return e.status == SANA_ERR_CANCELLED ? 130 : 1;
} catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
}
