"""Goldens for schedules, per-step solver traces and the torch CPU RNG."""
import torch

from build_models import DPM_CFG, SCM_CFG
from oracle_common import f64_mode, tolerances_for

STEPS = [1, 2, 4, 5, 10, 20, 28, 50]
SHIFTS = [1.0, 3.0, 4.5, 6.0]
SCHEDULE_TOL = 1e-6  # sigmas are computed in fp64 (numpy) and stored as fp32: <= 1 ulp, see README


def _key(n, s):
    return "n%d_shift%g" % (n, s)


def dpm(shift):
    from diffusers import DPMSolverMultistepScheduler
    return DPMSolverMultistepScheduler(**dict(DPM_CFG, flow_shift=shift))


def euler(shift):
    from diffusers import FlowMatchEulerDiscreteScheduler
    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)


def scm():
    from diffusers import SCMScheduler
    return SCMScheduler(**SCM_CFG)


def case_schedule(reg):
    # DPM-Solver++ with flow sigmas (SANA's default scheduler).
    t, outs = {}, []
    for s in SHIFTS:
        for n in STEPS:
            sc = dpm(s)
            sc.set_timesteps(n)
            k = _key(n, s)
            t[k + ".sigmas"] = sc.sigmas.clone()
            t[k + ".timesteps"] = sc.timesteps.clone()
            outs += [k + ".sigmas", k + ".timesteps"]
    tols = {o: (0 if o.endswith(".timesteps") else SCHEDULE_TOL) for o in outs}
    reg.add("schedule/dpm_flow", "schedule", t, [], outs, "schedule_dpm_flow.safetensors",
            tolerances=tols, params={"scheduler": "DPMSolverMultistepScheduler", "config": DPM_CFG,
                                     "steps": STEPS, "shifts": SHIFTS, "key": "n{steps}_shift{shift}"},
            note="set_timesteps(n) with flow_shift overridden. sigmas: n+1 values (last 0), fp32. timesteps: "
                 "int64 = trunc(1000*sigma) (what the model sees). Exact for timesteps.")

    t, outs = {}, []
    for s in SHIFTS:
        for n in STEPS:
            sc = euler(s)
            sc.set_timesteps(n)
            k = _key(n, s)
            t[k + ".sigmas"] = sc.sigmas.clone()
            t[k + ".timesteps"] = sc.timesteps.clone()
            outs += [k + ".sigmas", k + ".timesteps"]
    reg.add("schedule/flow_euler", "schedule", t, [], outs, "schedule_flow_euler.safetensors",
            tolerance=SCHEDULE_TOL,
            params={"scheduler": "FlowMatchEulerDiscreteScheduler", "config": {"num_train_timesteps": 1000},
                    "steps": STEPS, "shifts": SHIFTS, "key": "n{steps}_shift{shift}"},
            note="FlowMatchEulerDiscreteScheduler(shift=s).set_timesteps(n): sigmas n+1 (last 0), timesteps "
                 "float32 = 1000*sigma (not truncated). Note the double shift (spec solvers.md 3).")

    t, outs, scm_specs = {}, [], []
    for n, inter, key in [(1, None, "n1"), (2, 1.3, "n2"), (2, None, "n2_linspace"), (3, None, "n3"),
                          (4, None, "n4"), (8, None, "n8")]:
        sc = scm()
        sc.set_timesteps(n, max_timesteps=1.57080, intermediate_timesteps=inter)
        t[key + ".timesteps"] = sc.timesteps.clone()
        outs.append(key + ".timesteps")
        scm_specs.append({"key": key, "steps": n, "max_timesteps": 1.5708, "intermediate_timesteps": inter})
    reg.add("schedule/scm", "schedule", t, [], outs, "schedule_scm.safetensors", tolerance=SCHEDULE_TOL,
            params={"scheduler": "SCMScheduler", "config": SCM_CFG, "runs": scm_specs},
            note="SCMScheduler.set_timesteps: TrigFlow times (n+1 values, fp32, last 0). n=2 uses the "
                 "intermediate 1.3 (pipeline default); other n must pass intermediate_timesteps=None.")


def _trace(make, n, shift, seed, shape, kind, gen_seed=None, **set_kw):
    """Run scheduler.step over a random model_output sequence; fp32 and fp64 (measurement)."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(*shape, generator=g)
    mos = [torch.randn(*shape, generator=g) for _ in range(n)]
    res = {}
    for dt in ("f32", "f64"):
        sc = make()
        sc.set_timesteps(n, **set_kw)
        steps = list(sc.timesteps)
        if kind == "scm":
            steps = steps[:-1]
            x = x0 * SCM_CFG["sigma_data"]
        else:
            x = x0.clone()
        gen = torch.Generator().manual_seed(gen_seed) if gen_seed is not None else None
        store = {}
        ctx = f64_mode() if dt == "f64" else _Null()
        with torch.no_grad(), ctx:
            if dt == "f64":
                x = x.double()
            for i, ts in enumerate(steps):
                mo = mos[i].double() if dt == "f64" else mos[i]
                store["step.%d.sample" % i] = x
                store["step.%d.model_output" % i] = mo
                store["step.%d.timestep" % i] = ts.reshape(1).clone()
                if kind == "scm":
                    noise = torch.randn(shape, generator=_clone_gen(gen))
                    out = sc.step(mo, ts, x, generator=gen, return_dict=False)
                    x, den = out[0], out[1]
                    store["step.%d.noise" % i] = noise
                    store["step.%d.denoised" % i] = den
                else:
                    x = sc.step(mo, ts, x, return_dict=False)[0]
                store["step.%d.prev_sample" % i] = x
        res[dt] = store
    return x0, mos, res, len(steps)


def _clone_gen(gen):
    g2 = torch.Generator()
    g2.set_state(gen.get_state())
    return g2


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def case_solver_trace(reg):
    specs = [
        ("solver_trace/dpm_n20_shift3", lambda: dpm(3.0), 20, 3.0, 4001, (1, 32, 4, 4), "dpm", None, {}),
        ("solver_trace/dpm_n5_shift4.5", lambda: dpm(4.5), 5, 4.5, 4002, (2, 32, 2, 3), "dpm", None, {}),
        ("solver_trace/dpm_n1_shift3", lambda: dpm(3.0), 1, 3.0, 4003, (1, 32, 2, 2), "dpm", None, {}),
        ("solver_trace/euler_n28_shift3", lambda: euler(3.0), 28, 3.0, 4004, (1, 32, 4, 4), "euler", None, {}),
        ("solver_trace/euler_n4_shift6", lambda: euler(6.0), 4, 6.0, 4005, (1, 32, 2, 3), "euler", None, {}),
        ("solver_trace/scm_n2", scm, 2, None, 4006, (1, 32, 4, 4), "scm", 77,
         {"max_timesteps": 1.5708, "intermediate_timesteps": 1.3}),
        ("solver_trace/scm_n4", scm, 4, None, 4007, (1, 32, 2, 3), "scm", 78,
         {"max_timesteps": 1.5708, "intermediate_timesteps": None}),
    ]
    for name, make, n, shift, seed, shape, kind, gen_seed, kw in specs:
        x0, mos, res, nsteps = _trace(make, n, shift, seed, shape, kind, gen_seed, **kw)
        outs = [k for k in res["f32"] if k.endswith((".prev_sample", ".denoised"))]
        ins = [k for k in res["f32"] if not k.endswith((".prev_sample", ".denoised"))]
        tols, meas = tolerances_for(res["f32"], res["f64"], outs)
        params = {"steps": n, "shape": list(shape), "model_calls": nsteps}
        if shift is not None:
            params["shift"] = shift
        if kind == "scm":
            params.update({"sigma_data": 0.5, "generator_seed": gen_seed, **kw})
        note = {
            "dpm": "DPMSolverMultistepScheduler (flow sigmas, dpmsolver++ 2M midpoint, lower_order_final) fed a "
                   "random model_output (flow velocity) per step; step.i.sample -> step.i.prev_sample. "
                   "Steps depend on the previous model outputs (history), so replay in order.",
            "euler": "FlowMatchEulerDiscreteScheduler.step, x + (sigma_next - sigma) * v.",
            "scm": "SCMScheduler.step with generator=torch.Generator('cpu').manual_seed(seed); model_output is "
                   "the TrigFlow output (sigma_data*F); step.i.noise = the unscaled randn drawn inside the step "
                   "(also on the last step); prev = cos(t)*denoised + sin(t)*sigma_data*noise. The sample "
                   "starts as sigma_data*randn.",
        }[kind]
        t = dict(res["f32"])
        reg.add(name, "solver_trace", t, ins, outs, name.replace("/", "_") + ".safetensors",
                tolerances=tols, measured=meas, params=params, note=note)


RNG_SEEDS = [0, 1, 42, 12345, 2 ** 32 + 7]
RNG_SHAPES = [(1,), (5,), (15,), (16,), (17,), (3, 7), (100,), (1, 32, 4, 4), (2, 32, 16, 16)]
RNG_BIG = [(42, (1, 32, 32, 32))]  # the 1024x1024 latent, one seed only (size)


def case_rng(reg):
    t, outs, entries = {}, [], []
    for seed in RNG_SEEDS:
        for shape in RNG_SHAPES:
            k = "seed%d.%s" % (seed, "x".join(str(d) for d in shape))
            t[k] = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)
            outs.append(k)
    for seed, shape in RNG_BIG:
        k = "seed%d.%s" % (seed, "x".join(str(d) for d in shape))
        t[k] = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)
        outs.append(k)
    # Stream continuation: consecutive draws from one generator.
    g = torch.Generator("cpu").manual_seed(7)
    for i, shape in enumerate([(16,), (17,), (3,), (1, 32, 4, 4), (1, 32, 4, 4)]):
        k = "stream7.%d.%s" % (i, "x".join(str(d) for d in shape))
        t[k] = torch.randn(shape, generator=g, dtype=torch.float32)
        outs.append(k)
        entries.append(list(shape))
    reg.add("rng/torch_cpu_randn", "rng", t, [], outs, "rng_torch_cpu.safetensors", tolerance=0,
            params={"seeds": RNG_SEEDS, "shapes": [list(s) for s in RNG_SHAPES],
                    "extra": [[sd, list(sh)] for sd, sh in RNG_BIG],
                    "key": "seed{seed}.{shape joined by x}", "stream_seed": 7, "stream_shapes": entries},
            note="torch.randn(shape, generator=torch.Generator('cpu').manual_seed(seed), dtype=float32). "
                 "stream7.i.* are consecutive draws from ONE generator (state carries over). Bit-exact.")
