"""The C enums as Python IntEnums (values fixed by the ABI)."""
from __future__ import annotations

import enum


class Status(enum.IntEnum):
    OK = 0
    INVALID_ARGUMENT = 1
    NOT_FOUND = 2
    IO = 3
    FORMAT = 4
    UNSUPPORTED = 5
    OUT_OF_MEMORY = 6
    CANCELLED = 7
    BACKEND = 8
    INTERNAL = 9


class LogLevel(enum.IntEnum):
    ERROR = 0
    WARN = 1
    INFO = 2
    DEBUG = 3


class Backend(enum.IntEnum):
    AUTO = 0
    CPU = 1
    CUDA = 2


class Precision(enum.IntEnum):
    AUTO = 0
    F32 = 1
    F16 = 2
    BF16 = 3


class Component(enum.IntFlag):
    TOKENIZER = 1 << 0
    TEXT_ENCODER = 1 << 1
    TRANSFORMER = 1 << 2
    VAE = 1 << 3
    SCHEDULER = 1 << 4
    ALL = 0x1F


class ModelKind(enum.IntEnum):
    UNKNOWN = 0
    SANA = 1
    SPRINT = 2


class Solver(enum.IntEnum):
    DEFAULT = 0
    FLOW_DPM = 1
    FLOW_EULER = 2
    SCM = 3


class Noise(enum.IntEnum):
    TORCH_CPU = 0


class DecodeMode(enum.IntEnum):
    FULL = 0  # whole latent at once, or in exact bands under a memory budget
    TILED = 1  # diffusers' enable_tiling: tiles blended linearly (not exact)
