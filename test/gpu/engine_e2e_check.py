#!/usr/bin/env python3
"""engine_e2e_check.py - the runtime's control plane end to end, on a GPU, with a toy model.

Runs build/bin/engine_toy_program (test/gpu/engine_toy_program.cu: the runtime library with a
"model" whose next token is a hash of the context read back through the slot table and the KV
cache) in many modes and compares every output with the same function computed here:
greedy and sampled generation, continuous batching with more prompts than rows, chunked prefill,
small KV pools that force queuing, CUDA graphs on vs off, teacher forcing, logits dumps (with and
without --all-logits), EOS and --ignore-eos, text prompts / prompts files / streaming / stop
strings with the Llama 2 tokenizer (when its files and the `tokenizers` package are present),
errors refused before any GPU work, the metrics line, --bench, and compute-sanitizer when found.

Prints one line per check (PASS / FAIL / SKIP name: detail) and a summary; exits 1 if any check
failed, 77 if there is no GPU, 0 otherwise. SKIPs are never counted as passes.

Usage: python3 test/gpu/engine_e2e_check.py --bin build/bin/engine_toy_program [--data ../shared/data]
"""
import argparse
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

V = 32000          # must match engine_toy_program.cu
MAX_BATCH = 8
MAX_CONTEXT = 256
MAX_PREFILL = 64
EOS = 2
M32 = 0xFFFFFFFF

# ----------------------------------------------------------------------------- the toy model


def mix(h, tok, i):
    h ^= ((tok & M32) + 0x9E3779B9 + ((i * 31) & M32)) & M32
    h = (h * 16777619) & M32
    h ^= h >> 13
    return h


def prefix_hashes(ids):
    """hs[n] = hash of ids[0..n)."""
    hs = [2166136261]
    for i, t in enumerate(ids):
        hs.append(mix(hs[-1], t, i))
    return hs


def draw(h, position, temperature, seed):
    t = h % V
    if temperature > 0:
        shift = (seed * 7919 + position * 104729) & M32
        t = ((t + shift) & M32) % V
    return t


def reference(prompt, max_new, forced=0, temperature=0.0, seed=0, stop_at_eos=True):
    """(forced_predictions, generated, finish_reason) as the runtime must produce them."""
    ctx = list(prompt)
    hs = prefix_hashes(ctx)
    prefill_len = len(prompt) - forced
    preds = [draw(hs[k], k, temperature, seed) for k in range(prefill_len, len(prompt))]
    gen = []
    h = hs[-1]
    while True:
        k = len(ctx)
        t = draw(h, k, temperature, seed)
        gen.append(t)
        if stop_at_eos and t == EOS:
            return preds, gen, "eos"
        if len(gen) == max_new:
            return preds, gen, "length"
        h = mix(h, t, k)
        ctx.append(t)


def expected_logit_argmax(prompt, generated, forced, all_logits):
    """The argmax of every dumped logits row of one sequence, in dump order."""
    full = list(prompt) + list(generated)
    hs = prefix_hashes(full)
    start = 0 if all_logits else len(prompt) - forced - 1
    return [hs[p + 1] % V for p in range(start, len(full) - 1)]


# ----------------------------------------------------------------------------- helpers

class Checks:
    def __init__(self):
        self.rows = []

    def add(self, status, name, detail=""):
        self.rows.append((status, name, detail))
        print(f"{status:4} {name}" + (f": {detail}" if detail else ""), flush=True)

    def check(self, ok, name, detail=""):
        self.add("PASS" if ok else "FAIL", name, "" if ok else detail)
        return ok

    def skip(self, name, why):
        self.add("SKIP", name, why)


def run(binary, args, env=None, timeout=300, wrapper=None):
    cmd = (wrapper or []) + [binary] + args
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def ids_arg(ids):
    return ",".join(str(i) for i in ids)


def read_npy_argmax(path):
    """(rows, cols, [argmax per row], all rows one-hot?) of a float32 2-D .npy file."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", "bad magic"
    hlen = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + hlen].decode("latin1")
    assert "'descr': '<f4'" in header and "'fortran_order': False" in header, header
    m = re.search(r"'shape': \((\d+), (\d+)\)", header)
    rows, cols = int(m.group(1)), int(m.group(2))
    body = data[10 + hlen:]
    assert len(body) == rows * cols * 4, f"{len(body)} data bytes for shape ({rows}, {cols})"
    try:
        import numpy as np
        a = np.frombuffer(body, dtype="<f4").reshape(rows, cols)
        arg = [int(x) for x in a.argmax(axis=1)]
        onehot = bool(((a == 0) | (a == 1)).all() and (a.sum(axis=1) == 1).all()) if rows else True
    except ImportError:
        import array
        a = array.array("f")
        a.frombytes(body)
        arg, onehot = [], True
        for r in range(rows):
            row = a[r * cols:(r + 1) * cols]
            best = max(range(cols), key=row.__getitem__)
            arg.append(best)
            onehot = onehot and sum(row) == 1.0 and row[best] == 1.0
    return rows, cols, arg, onehot


METRICS_RE = re.compile(r"prompt tokens (\d+) \| generated (\d+) \| TTFT ([\d.]+|n/a) ms \| "
                        r"TPOT ([\d.]+|n/a) ms \| ([\d.]+|n/a) tokens/s")


def one_error_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    return len(lines) == 1 and lines[0].startswith("error: "), (lines[0] if lines else "")


def write_checkpoint(model_dir, seed=0):
    """A safetensors file holding the toy's one weight, bf16 [V, 8]."""
    rnd = random.Random(seed)
    n = V * 8
    header = {"model.embed_tokens.weight": {"dtype": "BF16", "shape": [V, 8], "data_offsets": [0, 2 * n]}}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    body = bytearray(2 * n)
    for i in range(0, 2 * n, 2):  # bf16 of a small value: sign/exponent byte 0x3c, random mantissa
        body[i] = rnd.randrange(256)
        body[i + 1] = 0x3C
    with open(os.path.join(model_dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + bytes(body))


# ----------------------------------------------------------------------------- the checks

def check_id_runs(c, binary, tmp):
    rnd = random.Random(1)
    base = ["--random-weights", "--kv-tokens", "2048"]

    # 1. One greedy sequence.
    prompt = [rnd.randrange(3, V) for _ in range(10)]
    out = os.path.join(tmp, "one.json")
    rc, so, se = run(binary, base + ["--prompt-ids", ids_arg(prompt), "--max-new-tokens", "20",
                                     "--ignore-eos", "--output-json", out])
    if not c.check(rc == 0, "single greedy run exits 0", se.strip()[-300:]):
        return
    j = json.load(open(out))
    s = j["sequences"][0]
    _, gen, _ = reference(prompt, 20, stop_at_eos=False)
    c.check(s["prompt_ids"] == prompt and s["generated_ids"] == gen and s["finish_reason"] == "length",
            "single greedy run matches the reference", f"got {s['generated_ids'][:8]}..., want {gen[:8]}...")
    c.check(f"ids: {ids_arg(gen)}" in so, "--prompt-ids run prints the generated ids", so[:200])
    m = METRICS_RE.search(se)
    c.check(bool(m) and int(m.group(1)) == 10 and int(m.group(2)) == 20, "metrics line on stderr",
            se.strip()[-300:])
    c.check(j["metrics"]["generated_tokens"] == 20 and j["metrics"]["decode_steps"] == 19,
            "metrics in --output-json (20 tokens, 19 decode steps)", json.dumps(j["metrics"]))
    # Start-up: weight loading and graph capture happen before the first token, which comes
    # after both (all counted from main()); the same three figures on the start-up line.
    st = j.get("startup", {})
    nums = [st.get(k) for k in ("weights_load_s", "graph_capture_s", "start_to_first_token_s")]
    c.check(all(isinstance(v, (int, float)) and v >= 0 for v in nums) and nums[2] >= nums[0] + nums[1],
            "start-up figures in --output-json (load + capture <= first token)", json.dumps(st))
    c.check(bool(re.search(r"start-up: weights loaded in [0-9.]+ s, graphs captured in [0-9.]+ s, "
                           r"first token [0-9.]+ s after start", se)),
            "start-up line on stderr", se.strip()[-300:])

    # 2. Many prompts (more than max_batch rows, some longer than max_prefill_tokens: chunked),
    #    with graphs, without graphs, with a pool that fits only one long sequence at a time.
    prompts = [[rnd.randrange(3, V) for _ in range(rnd.choice([1, 2, 7, 30, 63, 64, 65, 130, 200]))]
               for _ in range(20)]
    max_new = 40
    want = [reference(p, max_new, stop_at_eos=False)[1] for p in prompts]
    results = {}
    for name, extra in [("graphs", []), ("no-graphs", ["--no-cuda-graph"]), ("no-overlap", ["--no-overlap"]),
                        ("small pool", ["--kv-tokens", "300"]), ("json", ["--json"])]:
        out = os.path.join(tmp, f"many_{len(results)}.json")
        args = ["--random-weights", "--max-new-tokens", str(max_new), "--ignore-eos", "--output-json", out]
        if "--kv-tokens" not in extra:
            args += ["--kv-tokens", "2048"]
        for p in prompts:
            args += ["--prompt-ids", ids_arg(p)]
        rc, so, se = run(binary, args + extra)
        if not c.check(rc == 0, f"20 prompts ({name}) exit 0", se.strip()[-300:]):
            continue
        got = [s["generated_ids"] for s in json.load(open(out))["sequences"]]
        results[name] = got
        bad = [i for i in range(len(prompts)) if got[i] != want[i]]
        c.check(not bad, f"20 prompts ({name}) match the reference",
                f"sequences {bad} differ (prompt lengths {[len(prompts[i]) for i in bad]})")
        if name == "json":
            try:
                doc = json.loads(so)
                c.check([s["generated_ids"] for s in doc["sequences"]] == got, "--json prints the results document")
            except ValueError as e:
                c.check(False, "--json prints the results document", str(e))
    if "graphs" in results and "no-graphs" in results:
        c.check(results["graphs"] == results["no-graphs"], "CUDA graph on vs off: identical tokens")
    if "graphs" in results and "no-overlap" in results:
        c.check(results["graphs"] == results["no-overlap"], "overlapped decode on vs off: identical tokens")

    # 3. Sampling: the seed and step reach the sampler; identical with and without graphs.
    sampled = {}
    for name, extra in [("graphs", []), ("no-graphs", ["--no-cuda-graph"])]:
        out = os.path.join(tmp, f"sample_{name}.json")
        args = base + ["--temperature", "0.7", "--seed", "7", "--max-new-tokens", "12", "--ignore-eos",
                       "--output-json", out]
        for p in prompts[:5]:
            args += ["--prompt-ids", ids_arg(p)]
        rc, _, se = run(binary, args + extra)
        if c.check(rc == 0, f"sampling run ({name}) exits 0", se.strip()[-300:]):
            sampled[name] = [s["generated_ids"] for s in json.load(open(out))["sequences"]]
            want_s = [reference(p, 12, temperature=0.7, seed=7, stop_at_eos=False)[1] for p in prompts[:5]]
            c.check(sampled[name] == want_s, f"sampling ({name}): draws use the seed and the predicted position")

    # 4. Teacher forcing + logits dumps.
    tf_prompts = [prompts[3], prompts[4], [5, 6, 7, 8, 9, 10]]
    forced = 3
    for all_logits in (False, True):
        tag = "all-logits" if all_logits else "last-logits"
        out = os.path.join(tmp, f"tf_{tag}.json")
        npy = os.path.join(tmp, f"tf_{tag}.npy")
        args = base + ["--teacher-force", str(forced), "--max-new-tokens", "6", "--ignore-eos",
                       "--output-json", out, "--dump-logits", npy] + (["--all-logits"] if all_logits else [])
        usable = [p for p in tf_prompts if len(p) > forced]
        for p in usable:
            args += ["--prompt-ids", ids_arg(p)]
        rc, _, se = run(binary, args)
        if not c.check(rc == 0, f"teacher forcing + dump ({tag}) exits 0", se.strip()[-300:]):
            continue
        seqs = json.load(open(out))["sequences"]
        ok_pred = ok_gen = True
        expected_rows = []
        for p, s in zip(usable, seqs):
            preds, gen, _ = reference(p, 6, forced=forced, stop_at_eos=False)
            ok_pred &= s.get("forced_predictions") == preds
            ok_gen &= s["generated_ids"] == gen
            expected_rows += expected_logit_argmax(p, s["generated_ids"], forced, all_logits)
        c.check(ok_pred, f"teacher forcing ({tag}): forced predictions match")
        c.check(ok_gen, f"teacher forcing ({tag}): generation continues from the full prompt")
        try:
            rows, cols, arg, onehot = read_npy_argmax(npy)
            c.check(cols == V and rows == len(expected_rows), f"logits dump ({tag}) shape",
                    f"({rows}, {cols}), want ({len(expected_rows)}, {V})")
            c.check(arg == expected_rows and onehot, f"logits dump ({tag}) rows in documented order",
                    f"first mismatch at row {next((i for i, (a, b) in enumerate(zip(arg, expected_rows)) if a != b), '?')}")
        except (AssertionError, OSError, AttributeError) as e:
            c.check(False, f"logits dump ({tag}) readable", str(e))

    # 5. EOS ends a sequence; --ignore-eos does not.
    eos_prompt = None
    for _ in range(20000):
        p = [rnd.randrange(3, V) for _ in range(rnd.randrange(3, 20))]
        _, gen, why = reference(p, 150)
        if why == "eos":
            eos_prompt, eos_gen = p, gen
            break
    if eos_prompt is None:
        c.skip("EOS ends a sequence", "no prompt found whose reference reaches EOS")
    else:
        out = os.path.join(tmp, "eos.json")
        rc, _, se = run(binary, base + ["--prompt-ids", ids_arg(eos_prompt), "--prompt-ids", "7,8,9",
                                        "--max-new-tokens", "150", "--output-json", out])
        if c.check(rc == 0, "EOS run exits 0", se.strip()[-300:]):
            s = json.load(open(out))["sequences"]
            c.check(s[0]["generated_ids"] == eos_gen and s[0]["finish_reason"] == "eos",
                    "EOS ends its sequence (the other runs on)",
                    f"{s[0]['finish_reason']}, {len(s[0]['generated_ids'])} tokens, want eos after {len(eos_gen)}")
        rc, _, se = run(binary, base + ["--prompt-ids", ids_arg(eos_prompt), "--max-new-tokens", "150",
                                        "--ignore-eos", "--output-json", out])
        if c.check(rc == 0, "--ignore-eos run exits 0", se.strip()[-300:]):
            s = json.load(open(out))["sequences"][0]
            c.check(s["generated_ids"] == reference(eos_prompt, 150, stop_at_eos=False)[1]
                    and s["finish_reason"] == "length", "--ignore-eos runs to --max-new-tokens")

    # 5b. EOS while requests wait for a row: the decode step planned ahead still holds the ended
    #     sequence, whose token it drops, and the freed row admits the next request.
    eos_prompts = []
    for _ in range(200000):
        if len(eos_prompts) == 3:
            break
        p = [rnd.randrange(3, V) for _ in range(rnd.randrange(3, 12))]
        _, gen, why = reference(p, 60)
        if why == "eos" and len(gen) > 2:
            eos_prompts.append(p)
    if len(eos_prompts) < 3:
        c.skip("EOS while requests wait", "not enough prompts whose reference reaches EOS")
    else:
        mix = eos_prompts + [[rnd.randrange(3, V) for _ in range(rnd.randrange(2, 40))] for _ in range(9)]
        rnd.shuffle(mix)
        want = [reference(p, 60) for p in mix]
        got_by_mode = {}
        for name, extra in [("overlap", []), ("no-overlap", ["--no-overlap"])]:
            out = os.path.join(tmp, f"eos_wait_{name}.json")
            args = base + ["--max-new-tokens", "60", "--output-json", out] + extra
            for p in mix:
                args += ["--prompt-ids", ids_arg(p)]
            rc, _, se = run(binary, args)
            if not c.check(rc == 0, f"EOS with waiting requests ({name}) exits 0", se.strip()[-300:]):
                continue
            seqs = json.load(open(out))["sequences"]
            got_by_mode[name] = [(s["generated_ids"], s["finish_reason"]) for s in seqs]
            bad = [i for i, (w, s) in enumerate(zip(want, seqs))
                   if s["generated_ids"] != w[1] or s["finish_reason"] != ("eos" if w[2] == "eos" else "length")]
            c.check(not bad, f"EOS with waiting requests ({name}): every sequence matches the reference",
                    f"sequences {bad} differ")
        if len(got_by_mode) == 2:
            c.check(got_by_mode["overlap"] == got_by_mode["no-overlap"],
                    "EOS with waiting requests: overlapped decode on vs off identical")

    # 6. A prompt that exactly fills max_context.
    p = [rnd.randrange(3, V) for _ in range(MAX_CONTEXT - 5)]
    out = os.path.join(tmp, "full.json")
    rc, _, se = run(binary, ["--random-weights", "--kv-tokens", str(MAX_CONTEXT), "--prompt-ids", ids_arg(p),
                             "--max-new-tokens", "5", "--ignore-eos", "--output-json", out])
    if c.check(rc == 0, "prompt + max new tokens == max_context with a pool of exactly max_context", se.strip()[-300:]):
        c.check(json.load(open(out))["sequences"][0]["generated_ids"] == reference(p, 5, stop_at_eos=False)[1],
                "full-context sequence matches the reference")


def check_refusals(c, binary):
    """Bad input is refused with one `error:` line and exit 1 before any GPU work: run with no
    visible GPU, so reaching the GPU would give a different error."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    cases = [
        ("prompt longer than max_context", ["--prompt-ids", ids_arg([5] * 250), "--max-new-tokens", "7"],
         "exceeds the compiled max_context 256"),
        ("empty prompt", ["--prompt-ids", ""], "empty"),
        ("token id >= vocab", ["--prompt-ids", f"1,{V}"], f"token id {V}"),
        ("negative token id", ["--prompt-ids", "1,-3"], "token id -3"),
        ("teacher forcing the whole prompt", ["--prompt-ids", "1,2", "--teacher-force", "2"], "--teacher-force 2"),
        ("unknown flag", ["--prompt-ids", "1", "--frobnicate"], "--frobnicate"),
        ("top-k without temperature", ["--prompt-ids", "1", "--top-k", "3"], "--temperature"),
        ("missing weights directory", ["--weights", "/nonexistent/model", "--prompt-ids", "1"], "no such directory"),
    ]
    for name, args, needle in cases:
        rc, _, se = run(binary, ["--random-weights"] + args, env=env)
        single, line = one_error_line(se)
        c.check(rc == 1 and single and needle in line, f"refused before GPU work: {name}",
                f"rc {rc}, stderr {se.strip()[:300]!r}")
    rc, so, _ = run(binary, ["--version"], env=env)
    c.check(rc == 0 and "max_context" in so and "256" in so, "--version prints the ModelSpec without a GPU")
    rc, so, _ = run(binary, ["--help"], env=env)
    c.check(rc == 0 and "--kv-cache-fraction" in so, "--help exits 0 without a GPU")
    # Needs the GPU (pool sizing), still one clean error line.
    rc, _, se = run(binary, ["--random-weights", "--prompt-ids", "1", "--kv-tokens", "100"])
    single, line = one_error_line(se)
    c.check(rc == 1 and single and "max_context" in line, "a KV pool smaller than max_context is refused",
            se.strip()[:300])


def check_text(c, binary, data_dir, tmp):
    """Text prompts through the runtime's tokenizer. Engine-side properties (generation from the
    prompt ids, streaming == the JSON text, stop strings, prompts files) are checked against the
    binary's own tokenisation; equality with Hugging Face `tokenizers` only when it is installed."""
    tok_dir = os.path.join(data_dir, "tokenizers", "llama2") if data_dir else ""
    tok_file = os.path.join(tok_dir, "tokenizer.json")
    if not os.path.exists(tok_file):
        c.skip("text prompts", f"no {tok_file} (pass --data DIR holding tokenizers/llama2)")
        return
    try:
        from tokenizers import Tokenizer
        hf = Tokenizer.from_file(tok_file)
    except ImportError:
        hf = None
    hf_check = (lambda ok, name, detail="": c.check(ok, name, detail)) if hf else \
        (lambda ok, name, detail="": c.skip(name, "python package `tokenizers` missing"))
    model = os.path.join(tmp, "model")
    os.makedirs(model, exist_ok=True)
    write_checkpoint(model)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if os.path.exists(os.path.join(tok_dir, name)):
            shutil.copy(os.path.join(tok_dir, name), model)
    json.dump({"bos_token_id": 1, "eos_token_id": 2}, open(os.path.join(model, "generation_config.json"), "w"))
    base = ["--weights", model, "--kv-tokens", "2048"]

    # Streaming of one text prompt, from a real checkpoint directory (load_weights path).
    text = "The quick brown fox"
    out = os.path.join(tmp, "text.json")
    rc, so, se = run(binary, base + ["--prompt", text, "--max-new-tokens", "24", "--ignore-eos",
                                     "--output-json", out])
    if not c.check(rc == 0, "text prompt with --weights DIR exits 0", se.strip()[-300:]):
        return
    s = json.load(open(out))["sequences"][0]
    gen = reference(s["prompt_ids"], 24, stop_at_eos=False)[1]
    c.check(s["generated_ids"] == gen, "text prompt generation matches the reference")
    c.check(so == s["text"] + "\n", "single text prompt streams its completion (== the JSON text) to stdout",
            f"{so!r} vs {s['text']!r}")
    hf_check(hf is not None and s["prompt_ids"] == hf.encode(text).ids,
             "text prompt ids equal HF tokenizers (BOS included)",
             f"{s['prompt_ids']} vs {hf.encode(text).ids if hf else None}")
    want_text = hf.decode(gen, skip_special_tokens=True) if hf else None
    hf_check(hf is not None and s["text"] == want_text, "completion text equals HF decode",
             f"{s['text']!r} vs {want_text!r}")

    # Stop string across token boundaries: a piece of the text the same prompt produces.
    rc, _, se = run(binary, base + ["--prompt", text, "--max-new-tokens", "60", "--ignore-eos", "--output-json", out])
    full_run = json.load(open(out))["sequences"][0] if rc == 0 else None
    full = full_run["text"] if full_run else ""
    stop = full[12:15] if len(full) > 20 else None
    if not stop or not stop.strip():
        c.skip("stop string", f"reference text too short or blank: {full!r}")
    else:
        rc, so, se = run(binary, base + ["--prompt", text, "--max-new-tokens", "60", "--ignore-eos",
                                         "--stop", stop, "--output-json", out])
        if c.check(rc == 0, "stop-string run exits 0", se.strip()[-300:]):
            s2 = json.load(open(out))["sequences"][0]
            want = full[:full.find(stop)]
            ids = s2["generated_ids"]
            c.check(s2["finish_reason"] == "stop" and s2["text"] == want and so == want + "\n",
                    "stop string ends the sequence and is not printed",
                    f"{s2['finish_reason']}, {s2['text']!r} / {so!r} vs {want!r}")
            c.check(ids == full_run["generated_ids"][:len(ids)] and len(ids) < 60,
                    "the stopped sequence is a prefix of the unstopped one")
            if hf:
                c.check(stop in hf.decode(ids, skip_special_tokens=True)
                        and stop not in hf.decode(ids[:-1], skip_special_tokens=True),
                        "the sequence stops at the token that completes the stop string")

    # A prompts file: escapes, blank lines, labelled output.
    pf = os.path.join(tmp, "prompts.txt")
    with open(pf, "w") as f:
        f.write("first line\n\nsecond\\nwith a newline\n  third\n")
    rc, so, se = run(binary, base + ["--prompts-file", pf, "--max-new-tokens", "8", "--ignore-eos",
                                     "--output-json", out])
    if c.check(rc == 0, "prompts file run exits 0", se.strip()[-300:]):
        seqs = json.load(open(out))["sequences"]
        texts = ["first line", "second\nwith a newline", "  third"]
        c.check([x.get("prompt_text") for x in seqs] == texts, "prompts file: one prompt per line, \\n decoded",
                str([x.get("prompt_text") for x in seqs]))
        c.check(all(x["generated_ids"] == reference(x["prompt_ids"], 8, stop_at_eos=False)[1] for x in seqs),
                "prompts file generations match the reference")
        c.check(so.count("--- ") == 3 and f"{pf}:3" in so, "several prompts print labelled blocks", so[:300])
        hf_check(hf is not None and [x["prompt_ids"] for x in seqs] == [hf.encode(t).ids for t in texts],
                 "prompts file ids equal HF tokenizers")

    # --tokenize needs no GPU.
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    rc, so, se = run(binary, ["--tokenize", "--tokenizer", tok_file, "--prompt", text, "--prompt", "x y"], env=env)
    try:
        listing = json.loads(so)
        ok = rc == 0 and len(listing) == 2 and listing[0]["ids"] == s["prompt_ids"]
    except ValueError:
        listing, ok = None, False
    c.check(ok, "--tokenize prints the prompts' ids as JSON without a GPU", (so + se)[:300])
    hf_check(hf is not None and listing is not None and [e["ids"] for e in listing] == [hf.encode(text).ids,
                                                                                      hf.encode("x y").ids],
             "--tokenize ids equal HF tokenizers")


def check_bench(c, binary, tmp, mock):
    out = os.path.join(tmp, "bench.json")
    rc, so, se = run(binary, ["--random-weights", "--kv-tokens", "2048", "--bench", "--batch-sizes", "1,3,8",
                              "--prompt-len", "20", "--gen-len", "16", "--bench-runs", "2", "--json",
                              "--output-json", out], timeout=600)
    if not c.check(rc == 0, "--bench exits 0", se.strip()[-300:]):
        return
    try:
        j = json.loads(so)
    except ValueError as e:
        c.check(False, "--bench --json prints one JSON object", str(e))
        return
    c.check(j == json.load(open(out)), "--bench --output-json writes the same document")
    res = j.get("results", [])
    ok = len(res) == 3 and [r["batch"] for r in res] == [1, 3, 8]
    for r in res:
        ok &= r["prompt_tokens"] == 20 * r["batch"] and r["generated_tokens"] == 16 * r["batch"]
        for k in ("ttft_ms", "tpot_ms", "decode_step_ms_graph", "decode_step_ms_no_graph", "bandwidth_GBps",
                  "decode_tokens_per_s", "e2e_tokens_per_s"):
            ok &= isinstance(r.get(k), (int, float)) and r[k] > 0
    c.check(ok, "--bench reports every batch size with positive timings", json.dumps(res)[:400])
    c.check(j.get("copy_bandwidth_GBps", 0) > (0 if mock else 100), "--bench measures the device copy bandwidth",
            str(j.get("copy_bandwidth_GBps")))
    for r in res:
        print(f"info batch {r['batch']}: decode step {r['decode_step_ms_graph']:.4f} ms with graphs, "
              f"{r['decode_step_ms_no_graph']:.4f} ms without", flush=True)


def check_sanitizer(c, binary):
    san = shutil.which("compute-sanitizer")
    if not san:
        c.skip("compute-sanitizer", "not on PATH")
        return
    rnd = random.Random(3)
    args = ["--random-weights", "--kv-tokens", "600", "--max-new-tokens", "6", "--ignore-eos"]
    prompts = [[rnd.randrange(3, V) for _ in range(n)] for n in (1, 70, 5, 9, 130)]
    for p in prompts:
        args += ["--prompt-ids", ids_arg(p)]
    for tool in ("memcheck", "racecheck"):
        rc, so, se = run(binary, args, wrapper=[san, "--tool", tool, "--error-exitcode", "9"], timeout=900)
        # memcheck ends with "ERROR SUMMARY: 0 errors"; racecheck with
        # "RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)".
        summary = "ERROR SUMMARY: 0 errors" if tool == "memcheck" else "(0 errors, 0 warnings)"
        c.check(rc == 0 and summary in (so + se), f"compute-sanitizer {tool} clean",
                f"rc {rc}: {(so + se)[-400:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="build/bin/engine_toy_program")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"),
                    help="shared test data (holds tokenizers/llama2)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--mock", action="store_true",
                    help="the binary runs on the host CUDA mock (test/unit/engine_mock_program): "
                         "no sanitizer, no bandwidth expectations")
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        print(f"FAIL engine toy program not found: {a.bin}")
        return 1
    rc, _, se = run(a.bin, ["--random-weights", "--prompt-ids", "1", "--max-new-tokens", "1", "--kv-tokens", "300"])
    if not a.mock and "no usable CUDA GPU" in se:
        print("skipped: no GPU")
        return 77
    c = Checks()
    tmp = tempfile.mkdtemp(prefix="llc_engine_e2e_")
    try:
        check_refusals(c, a.bin)
        check_id_runs(c, a.bin, tmp)
        check_text(c, a.bin, a.data, tmp)
        check_bench(c, a.bin, tmp, a.mock)
        if a.mock:
            c.skip("compute-sanitizer", "mock CUDA runtime")
        else:
            check_sanitizer(c, a.bin)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    n = {s: sum(1 for r in c.rows if r[0] == s) for s in ("PASS", "FAIL", "SKIP")}
    print(f"\nsummary: {n['PASS']} passed, {n['FAIL']} failed, {n['SKIP']} skipped")
    for status, name, detail in c.rows:
        if status == "FAIL":
            print(f"  FAIL {name}: {detail}")
    return 1 if n["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
