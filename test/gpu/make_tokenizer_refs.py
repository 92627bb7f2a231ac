#!/usr/bin/env python3
"""Reference token ids for the tokenizer equality tests, made with Hugging Face `tokenizers`.

Run where `tokenizers` and `transformers` are installed (the GPU machine; no internet needed):

    python3 test/gpu/make_tokenizer_refs.py --data DIR --corpus test/data/tokenizer/corpus.jsonl --out OUTDIR

DIR holds llama3/ and llama2/ (each with tokenizer.json and tokenizer_config.json): the shared
data folder's tokenizers/ (DIR may also be the shared data folder itself). For each model it
writes OUTDIR/<model>.jsonl: a first line {"meta": {...}} (library versions, the corpus's line
count and FNV-1a hash, and what transformers' AutoTokenizer gives for a few prompts, to check the
BOS / EOS rules), then one line per corpus line:
    {"ids": Tokenizer.from_file(tokenizer.json).encode(text).ids,
     "decoded": decode(ids, skip_special_tokens=False),
     "decoded_skip": decode(ids, skip_special_tokens=True)}
Commit the outputs as test/data/tokenizer/refs/llama3.jsonl and refs/llama2.jsonl.
Prints a PASS/FAIL line per check and exits non-zero on any failure.
"""
import argparse
import json
import os
import sys
import time

MODELS = ["llama3", "llama2"]
PROMPTS = ["Hello world", "The quick brown fox jumps over the lazy dog.", "1234567", "",
           "<|begin_of_text|>Hello", "<s>Hello"]


def fnv1a64(data):
    """FNV-1a 64-bit of the corpus bytes (the C++ test computes the same to spot stale references)."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def autotokenizer_meta(model_dir):
    """What transformers does with the whole model directory (tokenizer_config.json included)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    eos = tok.eos_token_id
    return {
        "transformers_version": transformers.__version__,
        "class": type(tok).__name__,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": eos,
        "add_bos_token": getattr(tok, "add_bos_token", None),
        "prompts": [{"text": p, "ids": tok(p)["input_ids"]} for p in PROMPTS],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder with llama3/ and llama2/ (or the shared data folder)")
    ap.add_argument("--corpus", required=True, help="test/data/tokenizer/corpus.jsonl")
    ap.add_argument("--out", required=True, help="output folder")
    args = ap.parse_args()

    import tokenizers

    data = args.data
    if not os.path.isdir(os.path.join(data, "llama3")) and os.path.isdir(os.path.join(data, "tokenizers")):
        data = os.path.join(data, "tokenizers")
    with open(args.corpus, "rb") as f:
        corpus_bytes = f.read()
    texts = [json.loads(line)["text"] for line in corpus_bytes.decode("utf-8").split("\n") if line.strip()]
    os.makedirs(args.out, exist_ok=True)

    results = []  # (check, ok, detail)
    for model in MODELS:
        model_dir = os.path.join(data, model)
        path = os.path.join(model_dir, "tokenizer.json")
        start = time.time()
        tok = tokenizers.Tokenizer.from_file(path)
        meta = {
            "model": model,
            "tokenizers_version": tokenizers.__version__,
            "corpus_lines": len(texts),
            "corpus_fnv1a64": fnv1a64(corpus_bytes),
        }
        try:
            meta["autotokenizer"] = autotokenizer_meta(model_dir)
            results.append(("%s: AutoTokenizer.from_pretrained" % model, True, meta["autotokenizer"]["class"]))
        except Exception as e:  # recorded, and reported as a failure
            meta["autotokenizer"] = None
            results.append(("%s: AutoTokenizer.from_pretrained" % model, False, repr(e)))
        out_path = os.path.join(args.out, model + ".jsonl")
        roundtrip = 0
        with open(out_path, "w", encoding="utf-8") as f:
            f.write(json.dumps({"meta": meta}, ensure_ascii=True) + "\n")
            for text in texts:
                ids = tok.encode(text).ids
                decoded = tok.decode(ids, skip_special_tokens=False)
                decoded_skip = tok.decode(ids, skip_special_tokens=True)
                roundtrip += decoded_skip == text
                f.write(json.dumps({"ids": ids, "decoded": decoded, "decoded_skip": decoded_skip},
                                   ensure_ascii=True) + "\n")
        results.append(("%s: %d corpus lines encoded -> %s" % (model, len(texts), out_path), True,
                        "%.1fs, decode(encode(s)) == s for %d lines" % (time.time() - start, roundtrip)))

    width = max(len(r[0]) for r in results)
    for check, ok, detail in results:
        print("%s  %-*s  %s" % ("PASS" if ok else "FAIL", width, check, detail))
    failed = sum(not ok for _, ok, _ in results)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
