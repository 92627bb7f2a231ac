#!/usr/bin/env python3
"""End-to-end parity of llc-llama binaries with Hugging Face transformers, on a GPU.

For every example config (layers cut to --layers, every other shape real) this script
  1. (prepare) writes the cut config and, given --llc-llama, compiles it into a binary;
  2. (run) makes a random-weight bf16 checkpoint with transformers (fixed seed,
     save_pretrained), and checks the binary against transformers run in float32 on the
     same weights:
       a. teacher-forced logits over each seed prompt plus 32 continuation tokens (the
          float32 model's greedy tokens): the binary's largest |delta logit| is at most
          1.5x that of transformers in bf16; where its argmax differs from float32's, the
          float32 top-2 margin there is below 2x that position's |delta logit|;
       b. greedy generation of 32 tokens for the four seed prompts as one batch equals the
          float32 run's, or differs first at a near tie by the rule of (a) (reported);
       c. the batch of four gives each prompt the same tokens as running it alone, and CUDA
          graph on and off give identical tokens;
       d. compute-sanitizer memcheck reports no errors on a short run.
Both steps can run on one machine (prepare needs llc-llama, run needs a GPU with torch and
transformers); on the H200 of this project the binaries are compiled on the build machine
and carried over.

  python3 test/gpu/parity.py prepare --out DIR [--llc-llama build/bin/llc-llama]
  python3 test/gpu/parity.py run --dir DIR --tokenizer .../llama3/tokenizer.json --report OUT

`run` exits 1 when any check fails and writes OUT/parity.json and OUT/parity.md.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

MODELS = ["llama-3.2-1b", "llama-3.1-8b", "llama-2-7b", "tinyllama-1.1b",
          "mistral-7b-v0.1", "qwen2-1.5b"]

SEED_PROMPTS = [
    "I believe the meaning of life is",
    "Simply put, the theory of relativity states that ",
    "A brief message congratulating the team on the launch:\n\n    Hi everyone,\n    \n    I just ",
    "Roosevelt was the first president of the United States, he has",
]
LLAMA3_BOS = 128000
NEW_TOKENS = 32
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --------------------------------------------------------------------------- prepare
def cmd_prepare(args):
    for name in args.models:
        with open(os.path.join(REPO, "examples", name, "config.json")) as f:
            config = json.load(f)
        config["num_hidden_layers"] = min(config["num_hidden_layers"], args.layers)
        out = os.path.join(args.out, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        if args.llc_llama:
            t0 = time.time()
            subprocess.run([args.llc_llama, "compile", os.path.join(out, "config.json"),
                            "-o", os.path.join(out, "model_bin"), "--max-batch", "8"] + args.compile_arg,
                           check=True)
            os.remove(os.path.join(out, "model_bin.cu"))
            print(f"{name}: compiled in {time.time() - t0:.1f} s", flush=True)


# --------------------------------------------------------------------------- run
def hf_seed_token_ids(tokenizer_file):
    """The seed prompts through transformers' PreTrainedTokenizerFast (no special tokens)."""
    from transformers import PreTrainedTokenizerFast
    tok = PreTrainedTokenizerFast(tokenizer_file=tokenizer_file)
    return [tok(text, add_special_tokens=False)["input_ids"] for text in SEED_PROMPTS]


def binary_seed_token_ids(binary, tokenizer_file):
    """The seed prompts through the binary's own tokenizer (`--tokenize`, no GPU work)."""
    cmd = [binary, "--tokenize", "--tokenizer", tokenizer_file]
    for text in SEED_PROMPTS:
        cmd += ["--prompt", text]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [entry["ids"] for entry in json.loads(proc.stdout)]


def seed_prompt_ids(tokenizer_file, vocab):
    """BOS 128000 and the tokenizer's ids, modulo the model's vocabulary."""
    return [[i % vocab for i in [LLAMA3_BOS] + ids] for ids in hf_seed_token_ids(tokenizer_file)]


def make_checkpoint(model_dir, seed):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    ckpt = os.path.join(model_dir, "ckpt")
    if os.path.exists(os.path.join(ckpt, "config.json")):
        return ckpt
    config = AutoConfig.from_pretrained(model_dir)
    torch.manual_seed(seed)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.to(torch.bfloat16).save_pretrained(ckpt)
    del model
    torch.cuda.empty_cache()
    return ckpt


def load_hf(ckpt, dtype):
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=dtype).cuda().eval()
    return model


def hf_logits(model, ids):
    import torch
    with torch.no_grad():
        out = model(torch.tensor([ids], device="cuda")).logits[0]
    return out.float().cpu().numpy()


def hf_greedy(model, ids, n):
    import torch
    ids = list(ids)
    new = []
    with torch.no_grad():
        for _ in range(n):
            logits = model(torch.tensor([ids], device="cuda")).logits[0, -1]
            token = int(torch.argmax(logits.float()).item())
            new.append(token)
            ids.append(token)
    return new


def run_binary(binary, ckpt, prompts, out_dir, tag, extra, sanitizer=None):
    json_path = os.path.join(out_dir, f"{tag}.json")
    cmd = [binary, "--weights", ckpt, "--output-json", json_path, "--ignore-eos",
           "--kv-tokens", "16384"]
    for p in prompts:
        cmd += ["--prompt-ids", ",".join(str(i) for i in p)]
    cmd += extra
    if sanitizer:
        cmd = [sanitizer, "--tool", "memcheck", "--error-exitcode", "3"] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = os.path.join(out_dir, f"{tag}.log")
    with open(log, "w") as f:
        f.write(" ".join(cmd) + "\n--- stdout\n" + proc.stdout + "\n--- stderr\n" + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"{tag}: exit code {proc.returncode}; see {log}\n{proc.stderr[-2000:]}")
    with open(json_path) as f:
        return json.load(f), proc


def generated_ids(result):
    return [s["generated_ids"] for s in result["sequences"]]


def check_model(name, model_dir, tokenizer_file, out_dir, seed, sanitizer):
    import numpy as np
    import torch
    report = {"model": name, "checks": {}, "notes": []}
    checks = report["checks"]
    with open(os.path.join(model_dir, "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    prompts = seed_prompt_ids(tokenizer_file, vocab)
    ckpt = make_checkpoint(model_dir, seed)
    binary = os.path.join(model_dir, "model_bin")
    os.makedirs(out_dir, exist_ok=True)

    # References: float32 greedy continuations and teacher-forced logits; bf16 logits.
    ref32 = load_hf(ckpt, torch.float32)
    conts = [hf_greedy(ref32, p, NEW_TOKENS) for p in prompts]
    full = [p + c for p, c in zip(prompts, conts)]
    logits32 = [hf_logits(ref32, ids) for ids in full]
    del ref32
    torch.cuda.empty_cache()
    ref16 = load_hf(ckpt, torch.bfloat16)
    logits16 = [hf_logits(ref16, ids) for ids in full]
    del ref16
    torch.cuda.empty_cache()

    # a. Teacher-forced logits of the binary: prefill of the prompt (every position) and
    #    32 forced decode steps; the last forced step's prediction is the one generated token.
    npy = os.path.join(out_dir, "teacher.npy")
    run_binary(binary, ckpt, full, out_dir, "teacher",
               ["--teacher-force", str(NEW_TOKENS), "--all-logits", "--dump-logits", npy,
                "--max-new-tokens", "1"])
    ours = np.load(npy)
    expected_rows = sum(len(ids) for ids in full)
    if ours.shape != (expected_rows, vocab):
        raise RuntimeError(f"teacher.npy has shape {ours.shape}, expected ({expected_rows}, {vocab})")
    row = 0
    err_ours = err_bf16 = 0.0
    argmax_bad = []
    argmax_near_ties = 0
    for s, ids in enumerate(full):
        n = len(ids)
        mine = ours[row:row + n]
        row += n
        ref = logits32[s]
        delta = np.abs(mine - ref)
        err_ours = max(err_ours, float(delta.max()))
        err_bf16 = max(err_bf16, float(np.abs(logits16[s] - ref).max()))
        diff = np.nonzero(mine.argmax(-1) != ref.argmax(-1))[0]
        for pos in diff:
            top2 = np.sort(ref[pos])[-2:]
            margin = float(top2[1] - top2[0])
            if margin < 2 * float(delta[pos].max()):
                argmax_near_ties += 1
            else:
                argmax_bad.append((s, int(pos), margin, float(delta[pos].max())))
    checks["a_logits"] = {
        "pass": err_ours <= 1.5 * err_bf16 and not argmax_bad,
        "max_abs_delta_ours": err_ours, "max_abs_delta_hf_bf16": err_bf16,
        "ratio": err_ours / err_bf16 if err_bf16 else float("inf"),
        "argmax_differs_at_near_tie": argmax_near_ties, "argmax_differs_not_near_tie": argmax_bad}

    # b. Greedy generation as one batch, with the logits of every step.
    gen_npy = os.path.join(out_dir, "greedy.npy")
    batch, _ = run_binary(binary, ckpt, prompts, out_dir, "greedy",
                          ["--max-new-tokens", str(NEW_TOKENS), "--dump-logits", gen_npy])
    tokens = generated_ids(batch)
    gen_logits = np.load(gen_npy)
    per_seq_rows = gen_logits.shape[0] // len(prompts)
    divergences = []
    ok_b = True
    for s, (mine, ref) in enumerate(zip(tokens, conts)):
        if mine == ref:
            continue
        k = next(i for i, (a, b) in enumerate(zip(mine + [None], ref)) if a != b)
        pos = len(prompts[s]) - 1 + k
        ref_row = logits32[s][pos]
        my_row = gen_logits[s * per_seq_rows + k]
        top2 = np.sort(ref_row)[-2:]
        margin = float(top2[1] - top2[0])
        delta = float(np.abs(my_row - ref_row).max())
        near = margin < 2 * delta
        ok_b &= near
        divergences.append({"sequence": s, "step": k, "ours": mine[k] if k < len(mine) else None,
                            "fp32": ref[k], "fp32_top2_margin": margin,
                            "abs_delta_logit": delta, "near_tie": near})
    checks["b_greedy_batch"] = {"pass": ok_b, "identical_sequences": sum(
        1 for a, b in zip(tokens, conts) if a == b), "divergences": divergences}

    # c. Each prompt alone, and CUDA graphs off.
    alone = []
    for s, p in enumerate(prompts):
        single, _ = run_binary(binary, ckpt, [p], out_dir, f"alone{s}",
                               ["--max-new-tokens", str(NEW_TOKENS)])
        alone.append(generated_ids(single)[0])
    nograph, _ = run_binary(binary, ckpt, prompts, out_dir, "nograph",
                            ["--max-new-tokens", str(NEW_TOKENS), "--no-cuda-graph"])
    checks["c_batch_vs_alone"] = {"pass": alone == tokens,
                                  "mismatched": [s for s in range(len(prompts))
                                                 if alone[s] != tokens[s]]}
    checks["c_graph_vs_no_graph"] = {"pass": generated_ids(nograph) == tokens}

    # d. compute-sanitizer on a short run.
    if sanitizer:
        try:
            _, proc = run_binary(binary, ckpt, prompts[:2], out_dir, "memcheck",
                                 ["--max-new-tokens", "4"], sanitizer=sanitizer)
            summary = [l for l in proc.stdout.splitlines() + proc.stderr.splitlines()
                       if "ERROR SUMMARY" in l]
            checks["d_memcheck"] = {"pass": bool(summary) and "0 errors" in summary[-1],
                                    "summary": summary[-1] if summary else "no summary"}
        except RuntimeError as e:
            checks["d_memcheck"] = {"pass": False, "error": str(e)[-2000:]}
    else:
        checks["d_memcheck"] = {"pass": None, "skipped": "compute-sanitizer not run"}
    report["pass"] = all(c["pass"] is not False for c in checks.values())
    return report


def markdown(reports, meta):
    lines = [f"# Parity with transformers ({meta['date']}, commit {meta['commit']}, {meta['gpu']})",
             "", f"Command: `{meta['command']}`", "",
             "Seed prompts through the binary's tokenizer equal transformers' ids: "
             f"{meta.get('seed_prompt_tokenization_equal')}", "",
             "| model | verdict | max abs dlogit (ours / HF bf16, ratio) | argmax diffs at near ties "
             "| greedy batch identical | batch = alone | graph = no graph | memcheck |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in reports:
        c = r["checks"]
        if "error" in r:
            lines.append(f"| {r['model']} | FAIL | error: {r['error'][:200]} | | | | | |")
            continue
        a = c["a_logits"]
        lines.append(
            f"| {r['model']} | {'PASS' if r['pass'] else 'FAIL'} | {a['max_abs_delta_ours']:.4f} / "
            f"{a['max_abs_delta_hf_bf16']:.4f} ({a['ratio']:.2f}) | {a['argmax_differs_at_near_tie']} "
            f"| {c['b_greedy_batch']['identical_sequences']}/4 "
            f"({len(c['b_greedy_batch']['divergences'])} near-tie divergences) "
            f"| {c['c_batch_vs_alone']['pass']} | {c['c_graph_vs_no_graph']['pass']} "
            f"| {c['d_memcheck'].get('summary', c['d_memcheck'].get('skipped', ''))} |")
    for r in reports:
        for d in r.get("checks", {}).get("b_greedy_batch", {}).get("divergences", []):
            lines.append(f"- {r['model']}: sequence {d['sequence']} differs first at step "
                         f"{d['step']} (ours {d['ours']}, fp32 {d['fp32']}): fp32 top-2 margin "
                         f"{d['fp32_top2_margin']:.4f} vs |dlogit| {d['abs_delta_logit']:.4f} "
                         f"-> {'near tie' if d['near_tie'] else 'NOT a near tie'}")
    return "\n".join(lines) + "\n"


def cmd_run(args):
    import torch
    os.makedirs(args.report, exist_ok=True)
    sanitizer = shutil.which("compute-sanitizer") if not args.no_sanitizer else None
    reports = []
    # The seed prompts through the binaries' native tokenizer equal transformers' ids (the Llama 3
    # file's post-processor adds no BOS, so neither side adds one here).
    # Any binary whose vocabulary holds the tokenizer's ids can run the check (a Llama 2 binary
    # refuses Llama 3 ids as out of range); without one the check is reported as not run.
    hf_ids = hf_seed_token_ids(args.tokenizer)
    need_vocab = max(max(ids) for ids in hf_ids) + 1
    takers = [m for m in args.models
              if json.load(open(os.path.join(args.dir, m, "config.json")))["vocab_size"] >= need_vocab]
    if takers:
        ours = binary_seed_token_ids(os.path.join(args.dir, takers[0], "model_bin"), args.tokenizer)
        tokenizer_check = {"pass": ours == hf_ids, "hf": hf_ids, "binary": ours, "model": takers[0]}
        print(f"seed prompt tokenization ({takers[0]}): {'PASS' if tokenizer_check['pass'] else 'FAIL'} {ours}",
              flush=True)
    else:
        tokenizer_check = {"pass": None, "hf": hf_ids, "binary": None,
                           "skipped": f"no model among {args.models} has a vocabulary of >= {need_vocab}"}
        print(f"seed prompt tokenization: SKIP ({tokenizer_check['skipped']})", flush=True)
    for name in args.models:
        t0 = time.time()
        try:
            r = check_model(name, os.path.join(args.dir, name), args.tokenizer,
                            os.path.join(args.report, name), args.seed,
                            sanitizer if name in args.sanitize else None)
        except Exception as e:  # report and go on with the other models
            r = {"model": name, "pass": False, "error": repr(e), "checks": {}}
        r["seconds"] = round(time.time() - t0, 1)
        reports.append(r)
        print(f"{name}: {'PASS' if r['pass'] else 'FAIL'} ({r['seconds']} s) "
              f"{json.dumps(r['checks'].get('a_logits', r.get('error')))[:400]}", flush=True)
    meta = {"date": time.strftime("%Y-%m-%d"), "commit": args.commit,
            "gpu": torch.cuda.get_device_name(0), "command": " ".join(sys.argv)}
    meta["seed_prompt_tokenization_equal"] = (tokenizer_check["pass"] if tokenizer_check["pass"] is not None
                                              else f"not run: {tokenizer_check['skipped']}")
    with open(os.path.join(args.report, "parity.json"), "w") as f:
        json.dump({"meta": meta, "tokenizer": tokenizer_check, "models": reports}, f, indent=2)
    with open(os.path.join(args.report, "parity.md"), "w") as f:
        f.write(markdown(reports, meta))
    print(markdown(reports, meta))
    return 0 if all(r["pass"] for r in reports) and tokenizer_check["pass"] is not False else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="write the cut configs (and compile them)")
    p.add_argument("--out", required=True)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--llc-llama", help="compile each config with this llc-llama")
    p.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    p.add_argument("--compile-arg", action="append", default=[],
                   help="one more llc-llama compile argument (repeatable), e.g. --compile-arg=--no-wgmma-prefill")
    r = sub.add_parser("run", help="make checkpoints and check the binaries (needs a GPU)")
    r.add_argument("--dir", required=True, help="the directory `prepare` wrote")
    r.add_argument("--tokenizer", required=True, help="the Llama 3 tokenizer.json")
    r.add_argument("--report", required=True)
    r.add_argument("--seed", type=int, default=1234)
    r.add_argument("--commit", default="unknown")
    r.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    r.add_argument("--sanitize", nargs="*", default=MODELS, choices=MODELS,
                   help="models to run under compute-sanitizer (default: all)")
    r.add_argument("--no-sanitizer", action="store_true")
    args = parser.parse_args()
    if args.command == "prepare":
        cmd_prepare(args)
        return 0
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
