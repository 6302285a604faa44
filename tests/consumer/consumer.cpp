// The header compiles as C++ and links from C++ (extern "C").
#include <sana/sana.h>

#include <cstdio>
#include <memory>

int main() {
    sana_context *raw = nullptr;
    if (sana_context_create(nullptr, &raw) != SANA_OK) return 1;
    std::unique_ptr<sana_context, decltype(&sana_context_free)> ctx(raw, sana_context_free);
    std::printf("consumer (C++): libsana %s\n", sana_version());
    return sana_version_number() == SANA_VERSION_NUMBER ? 0 : 1;
}
