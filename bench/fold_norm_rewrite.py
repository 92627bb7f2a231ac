# fold_norm_rewrite.py - timing prototype of llc-fold-norm-into-gemv (docs/performance.md, log 37):
# rewrites a generated program's model_decode so that the add_rmsnorm kernels disappear, the
# o_proj / down GEMVs add the residual in their epilogue (gemv_residual_forward) and the QKV /
# gate-up GEMVs take the residual stream and scale by inv_rms (GemvFusion NORM). The norm weights
# are NOT folded into the projection weights here, so the tokens are garbage: only the step time
# means something. Usage: python3 bench/fold_norm_rewrite.py model.cu model_fold.cu
# Timing prototype: the decode step with the norms folded into the GEMVs (weights NOT folded:
# the tokens are garbage, the work per kernel is what the real feature would run).
import re, sys
src = open(sys.argv[1]).read()
start = src.index('static void model_decode(')
end = src.index('\n}\n', start)
body = src[start:end].split('\n')
out = []
def find_prev_gemv(lines, var):
    for i in range(len(lines) - 1, -1, -1):
        m = re.match(r'(\s*)gemv_forward<(\d+), kMaxBatch, floatX>\((\w+), (.*)\);(.*)$', lines[i])
        if m and m.group(3) == var:
            return i, m
    return None, None
pending = {}  # normed var -> (sum var, eps)
first_norm = None
for line in body:
    m = re.match(r'\s*rmsnorm_forward<(\d+)>\((\w+), (\w+), (\w+), ([^,]+), n_tokens, stream\);', line)
    if m and first_norm is None:
        first_norm = True
        pending[m.group(2)] = (m.group(3), m.group(5))
        continue
    m = re.match(r'\s*add_rmsnorm_forward<(\d+)>\((\w+), (\w+), (\w+), (\w+), (\w+), ([^,]+), n_tokens, stream\);', line)
    if m:
        H, SUM, NORMED, X, RES, W, EPS = m.groups()
        i, g = find_prev_gemv(out, RES)  # the add is symmetric: one operand is the GEMV's output
        if i is None:
            i, g = find_prev_gemv(out, X)
            X, RES = RES, X
        else:
            X, RES = RES, X  # RES: the residual stream operand
        if i is None:
            out.append(line); continue
        # is NORMED consumed by a swiglu or qkv GEMV later? decide lazily: record and keep line
        pending[NORMED] = (SUM, EPS, i, g, line, RES)
        out.append('@@' + NORMED)
        continue
    m = re.match(r'(\s*)gemv_swiglu_forward<(\d+), kMaxBatch>\((\w+), (\d+), (\w+), (.*), n_tokens, (\w+), stream\);(.*)$', line)
    if m and m.group(5) in pending:
        p = pending.pop(m.group(5))
        SUM, EPS = p[0], p[1]
        if len(p) > 2:
            i, g, _, RES = p[2], p[3], p[4], p[5]
            out[i] = f'{g.group(1)}gemv_residual_forward<{g.group(2)}, kMaxBatch>({SUM}, {g.group(4).rsplit(", stream", 1)[0]}, {RES}, stream);{g.group(5)}'
            out = [l for l in out if l != '@@' + m.group(5)]
        out.append(f'{m.group(1)}gemv_swiglu_norm_forward<{m.group(2)}, kMaxBatch>({m.group(3)}, {m.group(4)}, {SUM}, {m.group(6)}, n_tokens, {m.group(7)}, {EPS}, stream);{m.group(8)}')
        continue
    m = re.match(r'(\s*)gemv_qkv_rope_forward<(\d+), kMaxBatch, (\d+), (\d+)>\((\w+), (\d+), (\w+), (.*), stream\);(.*)$', line)
    if m and m.group(7) in pending:
        p = pending.pop(m.group(7))
        SUM, EPS = p[0], p[1]
        if len(p) > 2:
            i, g, _, RES = p[2], p[3], p[4], p[5]
            out[i] = f'{g.group(1)}gemv_residual_forward<{g.group(2)}, kMaxBatch>({SUM}, {g.group(4).rsplit(", stream", 1)[0]}, {RES}, stream);{g.group(5)}'
            out = [l for l in out if l != '@@' + m.group(7)]
        out.append(f'{m.group(1)}gemv_qkv_rope_forward<{m.group(2)}, kMaxBatch, {m.group(3)}, {m.group(4)}, true>({m.group(5)}, {m.group(6)}, {SUM}, {m.group(8)}, stream, {EPS});{m.group(9)}')
        continue
    out.append(line)
# restore add_rmsnorm lines not folded
final = []
for l in out:
    if l.startswith('@@'):
        final.append(pending[l[2:]][4])
    else:
        final.append(l)
# declarations after their first use (the folded GEMV writes the add's output): move them up
import collections
decl = {}
for idx, l in enumerate(final):
    md = re.match(r'\s*floatX\* (t\d+) = ', l)
    if md: decl[md.group(1)] = idx
moved = True
while moved:
    moved = False
    for name, di in list(decl.items()):
        for idx in range(di):
            if re.search(r'\b%s\b' % name, final[idx]):
                line = final.pop(di)
                final.insert(idx, line)
                decl = {}
                for j, l in enumerate(final):
                    md = re.match(r'\s*floatX\* (t\d+) = ', l)
                    if md: decl[md.group(1)] = j
                moved = True
                break
        if moved: break
text = '\n'.join(final)
n_res = text.count('gemv_residual_forward'); n_norm = text.count('_norm_forward') + text.count(', true>(')
print(f'residual GEMVs {n_res}, norm GEMVs {n_norm}, add_rmsnorm left {text.count("add_rmsnorm_forward")}, rmsnorm left {text.count("rmsnorm_forward<") - text.count("add_rmsnorm_forward")}', file=sys.stderr)
open(sys.argv[2], 'w').write(src[:start] + text + src[end:])
