"""Sampler: a solver and its schedule for one model."""
from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, List

from . import _native as N
from ._handle import Handle, check
from .enums import Solver

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model


class Sampler(Handle):
    """Pass to generate(sampler=...). Zero values take the model's scheduler defaults."""

    _free = N.lib.sana_sampler_free

    def __init__(
        self,
        model: "Model",
        solver: Solver = Solver.DEFAULT,
        *,
        steps: int = 0,
        flow_shift: float = 0.0,
        max_timesteps: float = 0.0,
        intermediate_timesteps: float = 0.0,
    ) -> None:
        super().__init__()
        self.model = model
        p = N.sampler_params()
        N.lib.sana_sampler_params_init(ctypes.byref(p))
        p.solver, p.steps, p.flow_shift = int(solver), steps, flow_shift
        p.max_timesteps, p.intermediate_timesteps = max_timesteps, intermediate_timesteps
        out = N.sampler_p()
        with model._lock:
            check(N.lib.sana_sampler_create(model._handle(), ctypes.byref(p), ctypes.byref(out)),
                  "sana_sampler_create")
            self._ptr = out
            model._adopt(self)

    def timesteps(self) -> List[float]:
        """The model timesteps the sampler visits."""
        count = ctypes.c_size_t()
        check(N.lib.sana_sampler_timesteps(self._handle(), None, 0, ctypes.byref(count)),
              "sana_sampler_timesteps")
        buf = (ctypes.c_float * max(1, count.value))()
        check(N.lib.sana_sampler_timesteps(self._handle(), buf, count.value, ctypes.byref(count)),
              "sana_sampler_timesteps")
        return [float(buf[i]) for i in range(count.value)]
