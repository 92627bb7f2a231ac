#!/usr/bin/env python3
"""Issue 5's side-by-side benchmark: our compiled binaries against Hugging Face transformers.

On the GPU machine, in one run, for each shape of --shapes (1b = examples/llama-3.2-1b, 8b =
examples/llama-3.1-8b, full size):
  1. a random-weight bf16 checkpoint made with transformers (seeded, initialised on the GPU in
     bf16, save_pretrained as safetensors) under --work, reused when complete, with the Llama 3
     tokenizer files copied in so that the binary takes text prompts;
  2. (once) the ceilings, measured in this process with CUDA events, medians after warm-up: copy
     bandwidth (copy_ of 1 GiB bf16, read + written bytes) and the bf16 GEMM rate (8192^3 matmul);
  3. our binary (--models-dir/<model>, subprocesses, --json): decode bench at batch 1 and 4, TTFT
     of the four seed prompts as one batch, TTFT of a 4 x 2048-token prefill (as TFLOP/s against
     the GEMM rate), and start-up to first token (the JSON's startup object and the wall clock);
  4. transformers on the same checkpoint, batch 1 and 4, 128-token random prompts, EOS ignored:
     static cache + torch.compile (reduce-overhead), then eager (dynamic cache);
     TPOT = (t(generate 256) - t(generate 1)) / 255, medians of --hf-runs after warm-up;
  5. a table per shape (TPOT, speed-up = peer / ours, bandwidth) and every issue-5 target with
     PASS/MISS; every number to --out (JSON), a markdown summary to --markdown.
Exit status: 0 when every requested run completed (a MISS is a result, not an error); 1 if a
run failed; 3 if --budget-s left transformers runs out. --dry-run prints the plan and checks the
FLOP/byte arithmetic, without torch or a GPU.

  python3 bench/side_by_side.py --models-dir .device-carry/models \\
      --tokenizer-dir .device-carry/data/tokenizers/llama3 --shapes 1b,8b \\
      --out $OUT/sbs.json --markdown $OUT/sbs.md --commit <hash>
"""

import argparse
import datetime
import gc
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = {"1b": "llama-3.2-1b", "8b": "llama-3.1-8b"}
sys.path.insert(0, os.path.join(REPO, "test", "gpu"))
from parity import SEED_PROMPTS  # noqa: E402  (the issues' seed prompts, one definition)
PROMPT_LEN, GEN_LEN, PREFILL_BATCH, PREFILL_LEN = 128, 256, 4, 2048
# issue-5 targets: TPOT (ms) by (shape, batch); the 8B seed-prompt TTFT (ms); the 8B prefill's
# fraction of the GEMM rate; start to first token at most the weight-loading time + STARTUP_SLACK_S
TPOT_TARGETS = {("8b", 1): 3.95, ("8b", 4): 4.05, ("1b", 1): 0.75, ("1b", 4): 0.80}
SEED_TTFT_MS_8B, PREFILL_GEMM_FRACTION_8B, STARTUP_SLACK_S = 6.0, 0.65, 2.0
T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:7.1f} s] {msg}", flush=True)


def one_line(cmd):
    return shlex.join(cmd).replace("\n", "\\n")


# --------------------------------------------------------------------------- arithmetic
def model_arithmetic(cfg):
    """Parameter counts and the bytes a bf16 decode step reads, from a Llama config.json."""
    h, inter, vocab = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    layers, heads, kv = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or h // heads
    per_layer = h * heads * hd + 2 * h * kv * hd + heads * hd * h + 3 * h * inter + 2 * h  # + 2 norms
    embed = vocab * h
    decode_params = layers * per_layer + h + embed  # final norm and lm_head (tied or not)
    total = decode_params + (0 if cfg.get("tie_word_embeddings") else embed)
    return {"layers": layers, "heads": heads, "head_dim": hd, "embedding_params": embed,
            "total_params": total, "decode_params": decode_params, "decode_bytes": 2 * decode_params}


def prefill_flops(arith, batch, seq_len, lm_head_rows=None):
    """2 x (parameters but the embedding table, lm_head included) x tokens + causal attention
    (per layer and sequence of length L: 2 x 2 x heads x head_dim x L(L+1)/2). With lm_head_rows,
    the lm_head counts for that many rows only (an engine computing last-token logits)."""
    tokens = batch * seq_len
    linear = 2 * arith["decode_params"] * tokens
    if lm_head_rows is not None:
        linear -= 2 * arith["embedding_params"] * (tokens - lm_head_rows)
    attn = arith["layers"] * batch * 4 * arith["heads"] * arith["head_dim"] * seq_len * (seq_len + 1) // 2
    return linear + attn


def load_config(shape):
    with open(os.path.join(REPO, "examples", SHAPES[shape], "config.json")) as f:
        return json.load(f)


def self_check():
    """The arithmetic against figures worked out independently (docs/performance.md, by hand)."""
    a8, a1 = model_arithmetic(load_config("8b")), model_arithmetic(load_config("1b"))
    f8 = prefill_flops(a8, 4, 2048)
    checks = [  # by hand: 2 x 7.50492e9 x 8192 = 122.96e12; 32 x 4 x 4 x 32 x 128 x 2048 x 2049 / 2 = 4.40e12
        ("8B decode bytes = 15.01 GB (docs/performance.md)", round(a8["decode_bytes"] / 1e9, 2) == 15.01),
        ("1B decode bytes = 2.47 GB (docs/performance.md)", round(a1["decode_bytes"] / 1e9, 2) == 2.47),
        ("8B parameters = 8.03 B", round(a8["total_params"] / 1e9, 2) == 8.03),
        ("8B embedding = 128256 x 4096", a8["embedding_params"] == 128256 * 4096),
        ("1B parameters = 1.24 B (tied embedding)", round(a1["total_params"] / 1e9, 2) == 1.24),
        ("8B prefill 4 x 2048 = 127.36 TFLOP", abs(f8 / 1e12 - 127.36) < 0.01),
    ]
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    print(f"  (8B: {a8['decode_params']:,} decode params; {prefill_flops(a8, 4, 2048, 4) / 1e12:.2f} "
          "TFLOP counting lm_head on the 4 sampled rows only)")
    return all(ok for _, ok in checks)


# --------------------------------------------------------------------------- our binary
def our_commands(binary, ckpt):
    base = [binary, "--weights", ckpt]
    prompts = [x for p in SEED_PROMPTS for x in ("--prompt", p)]
    return {
        "decode": base + ["--bench", "--batch-sizes", "1,4", "--prompt-len", str(PROMPT_LEN),
                          "--gen-len", str(GEN_LEN), "--bench-runs", "3", "--json"],
        "seed_ttft": base + ["--bench", "--batch-sizes", "4", "--gen-len", "16", "--bench-runs", "5",
                             "--json"] + prompts,
        "prefill": base + ["--bench", "--batch-sizes", str(PREFILL_BATCH), "--prompt-len",
                           str(PREFILL_LEN), "--gen-len", "2", "--bench-runs", "3", "--json"],
        "startup": base + ["--prompt", SEED_PROMPTS[0], "--max-new-tokens", "1", "--json"],
    }


def run_ours(cmd, tag, logdir, timeout):
    """Runs one binary command (log in logdir/tag.log); returns (its stdout JSON, wall seconds)."""
    env = dict(os.environ, LD_LIBRARY_PATH="/usr/local/cuda/lib64:" + os.environ.get("LD_LIBRARY_PATH", ""))
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    wall = time.perf_counter() - t
    log_path = os.path.join(logdir, f"{tag}.log")
    with open(log_path, "w") as f:
        f.write(f"{shlex.join(cmd)}\n--- exit {proc.returncode} after {wall:.2f} s\n--- stdout\n"
                f"{proc.stdout}\n--- stderr\n{proc.stderr}")
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip()[-600:]} (log: {log_path})")
    try:
        return json.loads(proc.stdout), wall
    except json.JSONDecodeError:  # something else printed too: the object is the last line
        objects = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not objects:
        raise RuntimeError(f"no JSON object on stdout (log: {log_path})")
    return json.loads(objects[-1]), wall


# --------------------------------------------------------------------------- torch: checkpoint, ceilings
def make_checkpoint(shape, work, tokenizer_dir, seed):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    ckpt = os.path.join(work, SHAPES[shape])
    marker = os.path.join(ckpt, "SBS_COMPLETE")  # written last: a half-written checkpoint is remade
    if os.path.exists(marker):
        log(f"{shape}: reusing the checkpoint in {ckpt}")
        return ckpt, {"reused": True}
    shutil.rmtree(ckpt, ignore_errors=True)
    config = AutoConfig.from_pretrained(os.path.join(REPO, "examples", SHAPES[shape]))
    torch.manual_seed(seed)
    t = time.perf_counter()
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    torch.cuda.synchronize()
    t_init, t = time.perf_counter() - t, time.perf_counter()
    model.save_pretrained(ckpt)  # safetensors
    t_save = time.perf_counter() - t
    del model
    gc.collect()
    torch.cuda.empty_cache()
    copied = [n for n in sorted(os.listdir(tokenizer_dir)) if n.startswith(("tokenizer", "special_tokens_map"))]
    for name in copied:
        shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(ckpt, name))
    open(marker, "w").close()
    log(f"{shape}: checkpoint made in {t_init + t_save:.1f} s (init on the GPU {t_init:.1f} s, "
        f"save_pretrained {t_save:.1f} s); tokenizer files {', '.join(copied)}")
    return ckpt, {"reused": False, "init_s": t_init, "save_s": t_save, "tokenizer_files": copied}


def event_median_ms(fn, warmup, reps):
    import torch
    for _ in range(warmup):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(reps):
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def measure_ceilings():
    import torch
    n, m = 1 << 29, 8192  # 2^29 bf16 = 1 GiB
    src = torch.randn(n, device="cuda", dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    copy_ms = event_median_ms(lambda: dst.copy_(src), 3, 20)
    del src, dst
    a, b = (torch.randn(m, m, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    c = torch.empty(m, m, device="cuda", dtype=torch.bfloat16)
    gemm_ms = event_median_ms(lambda: torch.matmul(a, b, out=c), 5, 20)
    del a, b, c
    torch.cuda.empty_cache()
    out = {"copy_GBps": 2 * 2 * n / (copy_ms * 1e-3) / 1e9, "copy_ms": copy_ms,
           "gemm_TFLOPs": 2 * m ** 3 / (gemm_ms * 1e-3) / 1e12, "gemm_ms": gemm_ms,
           "method": "CUDA events, median of 20 after warm-up; copy_ of 1 GiB bf16 (read + written "
                     "bytes); torch.matmul 8192x8192x8192 bf16, random data"}
    log(f"ceilings: copy {out['copy_GBps']:.0f} GB/s, bf16 GEMM {out['gemm_TFLOPs']:.0f} TFLOP/s")
    return out


# --------------------------------------------------------------------------- transformers
def hf_load(ckpt):
    import torch
    from transformers import AutoModelForCausalLM
    try:
        model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.bfloat16, device_map="cuda")
    except (ImportError, ValueError, TypeError) as e:
        log(f"  from_pretrained(device_map='cuda') failed ({e}); loading on the CPU, then .cuda()")
        model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.bfloat16).cuda()
    return model.eval()


def hf_generate_s(model, ids, n, kwargs):
    """Wall seconds of one generate of exactly n new tokens (EOS ignored), GPU synchronised."""
    import torch
    torch.cuda.synchronize()
    t = time.perf_counter()
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n,
                         do_sample=False, pad_token_id=model.config.eos_token_id, **kwargs)
    torch.cuda.synchronize()
    s = time.perf_counter() - t
    if out.shape[1] - ids.shape[1] != n:
        raise RuntimeError(f"generate made {out.shape[1] - ids.shape[1]} new tokens, expected {n}")
    return s


def hf_enable_compile(model, st, manual=False):
    """Static cache + torch.compile(mode='reduce-overhead', dynamic=False), the transformers 5 way
    (docs: "pass a fixed-size cache to generate to trigger torch.compile automatically"; compiling
    the model by hand as well would recompile): generate(cache_implementation='static',
    compile_config=CompileConfig(...)) compiles the decode-step forward itself. manual, or no
    CompileConfig (older transformers): model.forward = torch.compile(...) by hand. Sets st['kwargs']
    (for generate), st['path'] and st['configuration']."""
    import torch
    fullgraph, why = st["fullgraph"], " (generate did not compile the decode step itself)"
    if not manual:
        try:
            from transformers import CompileConfig
            cc = CompileConfig(fullgraph=fullgraph, dynamic=False, mode="reduce-overhead")
            st.update(kwargs={"cache_implementation": "static", "compile_config": cc}, path="auto",
                      configuration=f"generate(cache_implementation='static', compile_config=CompileConfig("
                                    f"fullgraph={fullgraph}, dynamic=False, mode='reduce-overhead')): "
                                    "generate compiles the decode step")
            return
        except (ImportError, TypeError) as e:
            why = f" (no usable CompileConfig: {e})"
    model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=fullgraph, dynamic=False)
    st.update(kwargs={"cache_implementation": "static"}, path="manual",
              configuration=f"static cache; model.forward = torch.compile(mode='reduce-overhead', "
                            f"fullgraph={fullgraph}, dynamic=False){why}")


def hf_compile_warmup(model, ids, st):
    """generate(256) twice (compile and CUDA-graph capture, then steady state). Falls back, saying so
    in st['configuration']: to fullgraph=False if fullgraph=True fails; to a hand-compiled forward
    if generate compiled nothing (no graph counted by dynamo)."""
    import torch
    from torch._dynamo.utils import counters
    warm = []
    for _ in range(2):
        try:
            warm.append(hf_generate_s(model, ids, GEN_LEN, st["kwargs"]))
        except Exception as e:  # a graph break fails fullgraph=True
            if not st["fullgraph"]:
                raise
            log(f"  HF compile: fullgraph=True failed ({type(e).__name__}: {str(e)[:300]}); now fullgraph=False")
            torch._dynamo.reset()
            st["fullgraph"] = False
            hf_enable_compile(model, st, st["path"] == "manual")
            st["configuration"] += f" [fullgraph=True failed: {type(e).__name__}]"
            warm.append(hf_generate_s(model, ids, GEN_LEN, st["kwargs"]))
        if st["path"] == "auto" and not (hasattr(model, "_compiled_call") or counters["stats"]["unique_graphs"]):
            log("  HF compile: generate compiled nothing; compiling model.forward by hand")
            hf_enable_compile(model, st, manual=True)
            warm.append(hf_generate_s(model, ids, GEN_LEN, st["kwargs"]))
    return warm


def hf_config_run(ckpt, kind, vocab, runs, budget_left):
    """One transformers configuration ('compile' or 'eager') at batch 1 and 4. A batch that fails
    or finds the time budget spent is recorded in res['errors'] / res['skipped']; the other runs."""
    import torch
    res = {"kind": kind, "batches": {}, "errors": []}
    st = {"fullgraph": True, "kwargs": {}, "path": None,
          "configuration": "eager: default attention implementation, dynamic cache, no compile"}
    model = hf_load(ckpt)
    res["attn_implementation"] = getattr(model.config, "_attn_implementation", "?")
    try:
        if kind == "compile":
            torch._dynamo.reset()
            from torch._dynamo.utils import counters
            counters.clear()  # hf_compile_warmup counts the graphs compiled
            hf_enable_compile(model, st)
        log(f"  HF {kind}: {st['configuration']}; attention {res['attn_implementation']}")
        gen = torch.Generator(device="cuda").manual_seed(7)
        for batch in (1, 4):
            if budget_left() <= 0:
                res["skipped"] = f"time budget (--budget-s) spent before batch {batch}"
                log(f"  SKIP HF {kind} batch {batch}: time budget spent")
                break
            ids = torch.randint(0, vocab, (batch, PROMPT_LEN), device="cuda", generator=gen)
            try:
                warm1 = hf_generate_s(model, ids, 1, st["kwargs"])
                warm = (hf_compile_warmup(model, ids, st) if kind == "compile"
                        else [hf_generate_s(model, ids, 32, st["kwargs"])])
                # every generate(256) before the generate(1): the static cache sized for 256 is kept
                t_full = [hf_generate_s(model, ids, GEN_LEN, st["kwargs"]) for _ in range(runs)]
                t_one = [hf_generate_s(model, ids, 1, st["kwargs"]) for _ in range(runs)]
            except Exception as e:
                res["errors"].append(f"batch {batch}: {type(e).__name__}: {str(e)[:500]}")
                log(f"  FAIL HF {kind} batch {batch}: {type(e).__name__}: {str(e)[:500]}")
                continue
            tpot = (statistics.median(t_full) - statistics.median(t_one)) / (GEN_LEN - 1) * 1e3
            res["batches"][batch] = {"tpot_ms": tpot, "warmup_generate_1_s": warm1, "warmup_s": warm,
                                     "generate_256_s": t_full, "generate_1_s": t_one,
                                     "compile": st["path"] and f"{st['path']}, fullgraph={st['fullgraph']}"}
            log(f"  HF {kind} batch {batch}: TPOT {tpot:.3f} ms (warm-up {', '.join(f'{w:.1f}' for w in warm)} s;"
                f" generate(256) {statistics.median(t_full):.2f} s, generate(1) {statistics.median(t_one) * 1e3:.1f} ms)")
    finally:
        res["configuration"] = st["configuration"]
        del model
        gc.collect()
        torch._dynamo.reset()
        torch.cuda.empty_cache()
    return res


# --------------------------------------------------------------------------- one shape
def run_shape(shape, res, args, ceilings, errors, budget_left, save):
    cfg = load_config(shape)
    res.update({"model": SHAPES[shape], "arithmetic": model_arithmetic(cfg), "ours": {}, "hf": {}})
    logdir = os.path.join(args.work, "logs", SHAPES[shape])
    os.makedirs(logdir, exist_ok=True)
    try:
        ckpt, res["checkpoint"] = make_checkpoint(shape, args.work, args.tokenizer_dir, args.seed)
    except Exception as e:
        errors.append(f"{shape} checkpoint: {type(e).__name__}: {e}")
        log(f"FAIL {shape} checkpoint: {type(e).__name__}: {e}")
        return
    for phase, cmd in our_commands(os.path.join(args.models_dir, SHAPES[shape]), ckpt).items():
        log(f"{shape} ours {phase}: {one_line(cmd)}")
        try:
            out, wall = run_ours(cmd, phase, logdir, args.timeout)
            res["ours"][phase] = {"json": out, "wall_s": wall, "command": cmd}
        except Exception as e:
            errors.append(f"{shape} ours {phase}: {type(e).__name__}: {e}")
            log(f"FAIL {shape} ours {phase}: {type(e).__name__}: {e}")
    res["summary"] = summarize(shape, res, ceilings)
    save()
    for kind in ("compile", "eager"):  # the stronger peer first, in case the budget runs out
        if getattr(args, f"skip_hf_{kind}"):
            res["hf"][kind] = {"skipped": "by flag"}
        elif budget_left() <= 0:
            res["hf"][kind] = {"skipped": "time budget (--budget-s) spent"}
            log(f"SKIP {shape} HF {kind}: time budget spent")
        else:
            try:
                res["hf"][kind] = hf_config_run(ckpt, kind, cfg["vocab_size"], args.hf_runs, budget_left)
                errors += [f"{shape} HF {kind} {e}" for e in res["hf"][kind]["errors"]]
            except Exception as e:
                errors.append(f"{shape} HF {kind}: {type(e).__name__}: {e}")
                res["hf"][kind] = {"error": f"{type(e).__name__}: {e}"}
                log(f"FAIL {shape} HF {kind}: {type(e).__name__}: {e}")
        res["summary"] = summarize(shape, res, ceilings)
        save()


# --------------------------------------------------------------------------- summary
def fmt(v, spec=".3f", unit=""):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:{spec}}{unit}"


def ratio(a, b):
    return a / b if a and b else None


def summarize(shape, res, ceil):
    """Decode rows (ours vs peers), the issue-5 targets (name, measured, True/False, or None when
    a run gave no figure) and the other facts as lines of text."""
    arith, hf = res["arithmetic"], res["hf"]
    ours = {k: v.get("json", {}) for k, v in res["ours"].items()}
    rows, targets, facts = [], [], []
    dec = {r["batch"]: r for r in ours.get("decode", {}).get("results", [])}
    for b in (1, 4):
        r = dec.get(b, {})
        tpot = r.get("tpot_ms")
        peer = {k: hf.get(k, {}).get("batches", {}).get(b, {}).get("tpot_ms") for k in ("compile", "eager")}
        bw = ratio(arith["decode_bytes"] / 1e6, tpot)  # GB/s
        rows.append({"batch": b, "ours_tpot_ms": tpot, "hf_compile_tpot_ms": peer["compile"],
                     "hf_eager_tpot_ms": peer["eager"], "speedup_vs_compile": ratio(peer["compile"], tpot),
                     "speedup_vs_eager": ratio(peer["eager"], tpot), "step_ms_graph": r.get("decode_step_ms_graph"),
                     "step_ms_no_graph": r.get("decode_step_ms_no_graph"), "ttft_ms": r.get("ttft_ms"),
                     "weight_GBps_from_tpot": bw, "fraction_of_copy": ratio(bw, ceil.get("copy_GBps")),
                     "binary_step_GBps": r.get("bandwidth_GBps"),
                     "binary_fraction_of_its_copy": r.get("bandwidth_fraction_of_copy")})
        if (shape, b) in TPOT_TARGETS:
            lim = TPOT_TARGETS[(shape, b)]
            targets.append((f"{shape.upper()} batch {b} TPOT <= {lim} ms", fmt(tpot, ".3f", " ms"),
                            None if tpot is None else tpot <= lim))
    facts.append(f"a decode step reads {arith['decode_bytes'] / 1e9:.2f} GB of weights (all but the embedding "
                 "table); 'of copy' = those bytes / TPOT over the copy ceiling. The binary's own figure (weights + "
                 "KV bytes / graph step time, over its own copy measure): " + ", ".join(
                     f"batch {r['batch']} {fmt(r['binary_step_GBps'], '.0f')} GB/s "
                     f"({fmt(r['binary_fraction_of_its_copy'], '.1%')})" for r in rows))
    binary_bytes = ours.get("decode", {}).get("decode_weight_bytes")
    if binary_bytes and binary_bytes != arith["decode_bytes"]:
        facts.append(f"NOTE: the binary's decode_weight_bytes {binary_bytes} != this script's {arith['decode_bytes']}")
    seed = (ours.get("seed_ttft", {}).get("results") or [{}])[0]
    if seed.get("ttft_ms") is not None:
        facts.append(f"seed prompts as one batch of 4: {seed.get('prompt_tokens')} prompt tokens, TTFT "
                     f"{seed['ttft_ms']:.2f} ms (median of 5 runs)")
    if shape == "8b":
        t = seed.get("ttft_ms")
        targets.append((f"8B seed prompts TTFT <= {SEED_TTFT_MS_8B:.0f} ms", fmt(t, ".2f", " ms"),
                        None if t is None else t <= SEED_TTFT_MS_8B))
    pre_json = ours.get("prefill", {})
    pre = (pre_json.get("results") or [{}])[0]
    frac = None
    if pre.get("ttft_ms"):
        sec = pre["ttft_ms"] * 1e-3
        flops = prefill_flops(arith, PREFILL_BATCH, PREFILL_LEN)
        done = prefill_flops(arith, PREFILL_BATCH, PREFILL_LEN, lm_head_rows=PREFILL_BATCH)
        frac = ratio(flops / sec / 1e12, ceil.get("gemm_TFLOPs"))
        mpt = pre_json.get("model", {}).get("max_prefill_tokens")
        steps = math.ceil(PREFILL_BATCH * PREFILL_LEN / mpt) if mpt else "?"
        res["prefill"] = {"ttft_ms": pre["ttft_ms"], "TFLOP": flops / 1e12, "TFLOPs": flops / sec / 1e12,
                          "fraction_of_gemm": frac, "TFLOPs_lm_head_sampled_rows_only": done / sec / 1e12,
                          "max_prefill_tokens": mpt, "prefill_steps": steps}
        facts.append(f"prefill {PREFILL_BATCH} x {PREFILL_LEN} tokens in {steps} step(s) (max_prefill_tokens "
                     f"{mpt}): TTFT {pre['ttft_ms']:.2f} ms, {flops / 1e12:.2f} TFLOP -> {flops / sec / 1e12:.0f} "
                     f"TFLOP/s ({fmt(frac, '.1%')} of GEMM); {done / sec / 1e12:.0f} TFLOP/s counting lm_head on "
                     f"the {PREFILL_BATCH} sampled rows only. TTFT includes the first sampling and host overhead")
    if shape == "8b":
        targets.append((f"8B prefill 4x2048 >= {PREFILL_GEMM_FRACTION_8B:.0%} of the GEMM rate",
                        fmt(frac, ".1%") + (f" ({res['prefill']['TFLOPs']:.0f} TFLOP/s)" if frac else ""),
                        None if frac is None else frac >= PREFILL_GEMM_FRACTION_8B))
    su, wall = ours.get("startup", {}).get("startup", {}), res["ours"].get("startup", {}).get("wall_s")
    first, load = su.get("start_to_first_token_s"), su.get("weights_load_s")
    ok = None if first is None or load is None else first <= load + STARTUP_SLACK_S
    targets.append((f"{shape.upper()} start to first token <= load + {STARTUP_SLACK_S:.0f} s",
                    "n/a" if ok is None else f"{first:.2f} s vs {load:.2f} + {STARTUP_SLACK_S:.0f} s", ok))
    if ok is not None:
        facts.append(f"start-up: weights loaded in {load:.2f} s, graphs captured in "
                     f"{fmt(su.get('graph_capture_s'), '.2f')} s, first token {first:.2f} s after main() began; "
                     f"process wall clock to exit {wall:.2f} s; the weights were probably in the page cache")
    for kind in ("compile", "eager"):
        h = hf.get(kind, {})
        desc = h.get("configuration") or h.get("error") or h.get("skipped") or "not run"
        label = "generate(256), the first compiles" if kind == "compile" else "generate(32)"
        warm = "; ".join(f"batch {b}: {', '.join(f'{w:.1f}' for w in v['warmup_s'])} s"
                         for b, v in h.get("batches", {}).items())
        extra = "".join(f" [{x}]" for x in h.get("errors", []) + ([h["skipped"]] if h.get("configuration")
                                                                   and h.get("skipped") else []))
        facts.append(f"transformers {kind}: {desc}" + (f"; warm-up {label}: {warm}" if warm else "") + extra)
    return {"rows": rows, "targets": targets, "facts": facts}


def render(res, md):
    """One shape's tables and facts, as plain text (md=False) or markdown."""
    s = res.get("summary")
    if not s:
        return f"{res.get('model')}: no results\n"
    out = [("### " if md else "== ") + f"{res['model']}: decode, {PROMPT_LEN}-token prompts, {GEN_LEN} new "
           "tokens, EOS ignored (speed-up = peer TPOT / ours)", ""]

    def table(header, rows):
        if md:
            out.extend(["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)])
            out.extend("| " + " | ".join(r) + " |" for r in rows)
        else:
            widths = [max(len(x) for x in col) for col in zip(header, *rows)]
            out.extend("  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip() for r in [header] + rows)
        out.append("")

    table(["batch", "ours TPOT", "HF compile TPOT", "speed-up", "HF eager TPOT", "speed-up", "ours TTFT",
           "ours step graph / no graph", "weight bytes / TPOT (of copy)"],
          [[str(r["batch"]), fmt(r["ours_tpot_ms"], ".3f", " ms"), fmt(r["hf_compile_tpot_ms"], ".3f", " ms"),
            fmt(r["speedup_vs_compile"], ".2f", "x"), fmt(r["hf_eager_tpot_ms"], ".3f", " ms"),
            fmt(r["speedup_vs_eager"], ".2f", "x"), fmt(r["ttft_ms"], ".2f", " ms"),
            f"{fmt(r['step_ms_graph'])} / {fmt(r['step_ms_no_graph'])} ms",
            f"{fmt(r['weight_GBps_from_tpot'], '.0f', ' GB/s')} ({fmt(r['fraction_of_copy'], '.1%')})"]
           for r in s["rows"]])
    verdict = {None: "n/a (no figure: a run failed)", True: "PASS", False: "MISS"}
    table(["issue-5 target", "measured", "verdict"], [[t, m, verdict[ok]] for t, m, ok in s["targets"]])
    out.extend(("- " if md else "  ") + line for line in s["facts"])
    return "\n".join(out) + "\n\n"


# --------------------------------------------------------------------------- main
def environment(commit):
    import torch
    import transformers
    env = {"commit": commit, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "transformers": transformers.__version__, "python": sys.version.split()[0], "command": shlex.join(sys.argv)}
    try:
        env["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                       capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        env["driver"] = "?"
    return env


def write_outputs(args, report):
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1, default=str)
    if args.markdown:
        env, ceil = report["env"], report.get("ceilings") or {}
        text = (f"## Side by side with transformers ({env['date'][:10]}, commit {env['commit']})\n\n"
                f"{env['gpu']}, driver {env.get('driver')}, torch {env['torch']}, transformers "
                f"{env['transformers']}; bf16, random weights. Ceilings measured in the same run: copy "
                f"{fmt(ceil.get('copy_GBps'), '.0f')} GB/s (read + written), bf16 GEMM "
                f"{fmt(ceil.get('gemm_TFLOPs'), '.0f')} TFLOP/s. Command:\n\n    {env['command']}\n\n")
        text += "".join(render(res, md=True) for res in report["shapes"].values())
        text += "".join(f"- FAILED: {e}\n" for e in report["errors"])
        os.makedirs(os.path.dirname(os.path.abspath(args.markdown)), exist_ok=True)
        with open(args.markdown, "w") as f:
            f.write(text)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models-dir", required=True, help="prebuilt binaries named llama-3.2-1b, llama-3.1-8b")
    p.add_argument("--tokenizer-dir", required=True, help="holds the Llama 3 tokenizer.json, tokenizer_config.json")
    p.add_argument("--shapes", default="1b,8b", help="comma list of 1b, 8b (default 1b,8b)")
    p.add_argument("--work", default="/tmp/llc-sbs", help="checkpoints and logs (default /tmp/llc-sbs)")
    p.add_argument("--out", help="write every number as JSON here")
    p.add_argument("--markdown", help="write the markdown summary here")
    p.add_argument("--commit", default="unknown", help="recorded in the outputs")
    p.add_argument("--seed", type=int, default=0, help="checkpoint initialisation seed (default 0)")
    p.add_argument("--hf-runs", type=int, default=3, help="timed transformers runs per length (default 3)")
    p.add_argument("--skip-hf-eager", action="store_true", help="do not run transformers eager")
    p.add_argument("--skip-hf-compile", action="store_true", help="do not run transformers static + compile")
    p.add_argument("--budget-s", type=float, default=480,
                   help="start no transformers batch after this many seconds of the run (default 480)")
    p.add_argument("--timeout", type=int, default=300, help="limit of each binary run, seconds (default 300)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and check the arithmetic; no GPU")
    args = p.parse_args()
    args.shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    if not args.shapes or any(s not in SHAPES for s in args.shapes):
        p.error(f"--shapes {','.join(args.shapes)}: expected a comma list of {', '.join(SHAPES)}")
    if args.hf_runs < 1:
        p.error("--hf-runs must be >= 1")
    args.models_dir, args.tokenizer_dir = os.path.abspath(args.models_dir), os.path.abspath(args.tokenizer_dir)
    return args


def check_inputs(args):
    """Problems with the inputs, found before any GPU work."""
    problems = [f"--models-dir: no binary {os.path.join(args.models_dir, SHAPES[s])}" for s in args.shapes
                if not os.access(os.path.join(args.models_dir, SHAPES[s]), os.X_OK)]
    if not os.path.isfile(os.path.join(args.tokenizer_dir, "tokenizer.json")):
        problems.append(f"--tokenizer-dir: no tokenizer.json in {args.tokenizer_dir}")
    return problems


def main():
    args = parse_args()
    problems = check_inputs(args)
    if args.dry_run:
        print("arithmetic self-check:")
        ok = self_check()
        for shape in args.shapes:
            ckpt = os.path.join(args.work, SHAPES[shape])
            print(f"\n{shape}: checkpoint {ckpt} (examples/{SHAPES[shape]}/config.json, bf16, seed {args.seed})")
            for phase, cmd in our_commands(os.path.join(args.models_dir, SHAPES[shape]), ckpt).items():
                print(f"  ours {phase}: {one_line(cmd)}")
            for kind in ("compile", "eager"):
                skip = getattr(args, f"skip_hf_{kind}")
                print(f"  transformers {kind}: " + ("skipped" if skip else f"batch 1 and 4, {args.hf_runs} runs"))
        print("".join(f"\nwarning: {p}" for p in problems))
        return 0 if ok else 1
    if problems:
        print("".join(f"error: {p}\n" for p in problems), end="", file=sys.stderr)
        return 1
    import torch
    if not torch.cuda.is_available():
        print("error: no CUDA device visible to torch", file=sys.stderr)
        return 1
    os.makedirs(args.work, exist_ok=True)
    report = {"env": environment(args.commit), "ceilings": None, "shapes": {}, "errors": []}
    log(f"{report['env']['gpu']}, torch {report['env']['torch']}, transformers {report['env']['transformers']}")
    try:
        report["ceilings"] = measure_ceilings()
    except Exception as e:
        report["errors"].append(f"ceilings: {type(e).__name__}: {e}")
        log(f"FAIL ceilings: {type(e).__name__}: {e}")
    for shape in args.shapes:
        res = report["shapes"].setdefault(shape, {"model": SHAPES[shape]})
        run_shape(shape, res, args, report["ceilings"] or {}, report["errors"],
                  lambda: args.budget_s - (time.time() - T0), lambda: write_outputs(args, report))
        print("\n" + render(res, md=False), flush=True)
    write_outputs(args, report)
    skipped = [f"{s} {k}" for s, r in report["shapes"].items() for k, v in r.get("hf", {}).items()
               if "budget" in v.get("skipped", "")]
    for e in report["errors"]:
        print(f"FAILED: {e}")
    if skipped:
        print(f"INCOMPLETE: --budget-s left transformers runs out: {', '.join(skipped)}")
    log("done")
    return 1 if report["errors"] else (3 if skipped else 0)


if __name__ == "__main__":
    sys.exit(main())
