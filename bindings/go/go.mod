module libsana.dev/sana

go 1.19
