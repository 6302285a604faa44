module libsana.dev/sana-service

go 1.19

require libsana.dev/sana v0.0.0

replace libsana.dev/sana => ../../bindings/go
