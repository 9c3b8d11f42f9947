#!/usr/bin/python3
"""Golden values for stablerep-core's contrastive losses, from an independent PyTorch implementation.

Implements the official StableRep losses (google-research/syn-rep-learn, StableRep/models/losses.py:
MultiPosConLoss and MultiPosConLossMM) from their published semantics, runs them in float64 on
float32 inputs, and writes inputs, loss values and autograd gradients as .npy files:

    stablerep-core/src/test/resources/golden/loss/<case>/*.npy

Java tests compare against these files with stated tolerances, so CI needs no Python.

Run from the repository root:  /usr/bin/python3 tools/reference/multipos_loss_reference.py
Requires Debian's python3-torch (1.13) and python3-numpy.
"""
import os
import shutil
import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join("stablerep-core", "src", "test", "resources", "golden", "loss")


def masked_cross_entropy(p, logits):
    # the reference: subtract the detached row max, then -mean_i sum_j p_ij log_softmax_ij
    logits = logits - logits.max(dim=-1, keepdim=True)[0].detach()
    return -(p * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def multipos_rows(local_feats, local_ids, all_feats, all_ids, offset, temperature):
    """MultiPosConLoss for one rank: local rows against gathered columns, self at column offset+i."""
    n = local_feats.shape[0]
    mask = (local_ids.view(-1, 1) == all_ids.view(1, -1)).to(all_feats.dtype)
    logits_mask = torch.ones_like(mask)
    logits_mask[torch.arange(n), torch.arange(n) + offset] = 0
    mask = mask * logits_mask
    logits = local_feats @ all_feats.T / temperature
    logits = logits - (1 - logits_mask) * 1e9
    p = mask / mask.sum(1, keepdim=True).clamp(min=1.0)
    return masked_cross_entropy(p, logits)


def save(case, **arrays):
    d = os.path.join(OUT, case)
    os.makedirs(d, exist_ok=True)
    for name, a in arrays.items():
        if isinstance(a, torch.Tensor):
            a = a.detach().numpy()
        np.save(os.path.join(d, name + ".npy"), np.asarray(a))


def view_major_ids(captions, views):
    # as StableRep.py builds labels: label.repeat(n_views), i.e. [0..n-1, 0..n-1, ...]
    return np.tile(np.arange(captions), views)


def single_case(case, rng, ids, dim, temperature, scale=1.0):
    ids = np.asarray(ids, dtype=np.int64)
    emb32 = (rng.standard_normal((len(ids), dim)) * scale).astype(np.float32)
    raw = torch.tensor(emb32, dtype=torch.float64, requires_grad=True)
    f = F.normalize(raw, dim=-1, p=2)
    t_ids = torch.tensor(ids)
    loss = multipos_rows(f, t_ids, f, t_ids, 0, temperature)
    loss.backward()
    save(case, embeddings=emb32, ids=ids, temperature=np.float64(temperature),
         loss=loss, gradient=raw.grad)


def nt_xent_case(case, rng, pairs, dim, temperature):
    """SimCLR's NT-Xent written the classic way (Chen et al., 2020): 2N views, the partner of
    view k is k +- N, cross-entropy over the similarities with the diagonal set to -inf.
    Independent of the multi-positive formulation; the Java test checks that m = 2 reduces to it."""
    emb32 = rng.standard_normal((2 * pairs, dim)).astype(np.float32)
    raw = torch.tensor(emb32, dtype=torch.float64, requires_grad=True)
    z = F.normalize(raw, dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * pairs, dtype=torch.bool), float("-inf"))
    partner = (torch.arange(2 * pairs) + pairs) % (2 * pairs)
    loss = F.cross_entropy(sim, partner)
    loss.backward()
    save(case, embeddings=emb32, ids=view_major_ids(pairs, 2).astype(np.int64),
         temperature=np.float64(temperature), nt_xent_loss=loss, nt_xent_gradient=raw.grad)


def distributed_case(case, rng, captions_per_rank, views, ranks, dim, temperature, shared_captions):
    ids_per_rank = []
    for r in range(ranks):
        local = view_major_ids(captions_per_rank, views)
        ids_per_rank.append(local if shared_captions else local + r * captions_per_rank)
    all_ids = np.concatenate(ids_per_rank).astype(np.int64)
    n_local = captions_per_rank * views
    emb32 = rng.standard_normal((len(all_ids), dim)).astype(np.float32)

    # Whole-job gradient: torch.distributed.nn.all_gather passes column gradients back to their
    # owners, and DDP averages over ranks, so the job minimises mean_r loss_r.
    raw = torch.tensor(emb32, dtype=torch.float64, requires_grad=True)
    f = F.normalize(raw, dim=-1, p=2)
    t_all = torch.tensor(all_ids)
    losses = []
    for r in range(ranks):
        sl = slice(r * n_local, (r + 1) * n_local)
        losses.append(multipos_rows(f[sl], t_all[sl], f, t_all, r * n_local, temperature))
    job = torch.stack(losses).mean()
    job.backward()

    arrays = dict(embeddings=emb32, ids=all_ids, temperature=np.float64(temperature),
                  ranks=np.int64(ranks), job_loss=job, job_gradient=raw.grad,
                  rank_loss=torch.stack(losses))
    # Per-rank pieces: the gradient through the local rows and through the gathered columns.
    for r in range(ranks):
        sl = slice(r * n_local, (r + 1) * n_local)
        rows = torch.tensor(emb32[sl], dtype=torch.float64, requires_grad=True)
        cols = torch.tensor(emb32, dtype=torch.float64, requires_grad=True)
        loss = multipos_rows(F.normalize(rows, dim=-1), t_all[sl], F.normalize(cols, dim=-1), t_all,
                             r * n_local, temperature)
        loss.backward()
        arrays["rank%d_row_gradient" % r] = rows.grad
        arrays["rank%d_column_gradient" % r] = cols.grad
    save(case, **arrays)


def image_text_case(case, rng, captions, views, dim, text_dim_unused, temperature, log_scale, w_img, w_txt):
    """MultiPosConLossMM (StableRep++): w_img * L_img + w_txt * (CE(img->txt) + CE(txt->img)) / 2."""
    image_ids = view_major_ids(captions, views).astype(np.int64)
    text_ids = np.arange(captions, dtype=np.int64)
    feats32 = rng.standard_normal((len(image_ids), dim)).astype(np.float32)
    img_emb32 = rng.standard_normal((len(image_ids), dim)).astype(np.float32)
    txt_emb32 = rng.standard_normal((captions, dim)).astype(np.float32)

    feats = torch.tensor(feats32, dtype=torch.float64, requires_grad=True)
    v_raw = torch.tensor(img_emb32, dtype=torch.float64, requires_grad=True)
    t_raw = torch.tensor(txt_emb32, dtype=torch.float64, requires_grad=True)
    s = torch.tensor(log_scale, dtype=torch.float64, requires_grad=True)
    scale = s.exp()
    v = F.normalize(v_raw, dim=-1)
    t = F.normalize(t_raw, dim=-1)
    vi, ti = torch.tensor(image_ids), torch.tensor(text_ids)

    img_loss = multipos_rows(F.normalize(feats, dim=-1), vi, F.normalize(feats, dim=-1), vi, 0, temperature)
    v_mask = (vi.view(-1, 1) == ti.view(1, -1)).double()
    t_mask = (ti.view(-1, 1) == vi.view(1, -1)).double()
    p_v = v_mask / v_mask.sum(1, keepdim=True).clamp(min=1.0)
    p_t = t_mask / t_mask.sum(1, keepdim=True).clamp(min=1.0)
    logits_v = scale * (v @ t.T)
    logits_t = scale * (t @ v.T)
    img_txt_loss = (masked_cross_entropy(p_v, logits_v) + masked_cross_entropy(p_t, logits_t)) / 2
    loss = w_img * img_loss + w_txt * img_txt_loss
    loss.backward()
    save(case, image_feats=feats32, image_emb=img_emb32, text_emb=txt_emb32, image_ids=image_ids,
         text_ids=text_ids, temperature=np.float64(temperature), log_scale=np.float64(log_scale),
         image_weight=np.float64(w_img), image_text_weight=np.float64(w_txt),
         loss=loss, image_loss=img_loss, image_text_loss=img_txt_loss,
         grad_image_feats=feats.grad, grad_image_emb=v_raw.grad, grad_text_emb=t_raw.grad,
         grad_log_scale=s.grad)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    rng = np.random.default_rng(20230601)
    single_case("n8_m2_t0.1", rng, view_major_ids(4, 2), 16, 0.1)
    single_case("n48_m6_t0.1", rng, view_major_ids(8, 6), 32, 0.1)
    # uneven groups: sizes 3, 1, 2, 1, 4, 1 in shuffled order, so singleton rows contribute zero
    uneven = np.array([0, 0, 0, 1, 2, 2, 3, 4, 4, 4, 4, 5])
    single_case("uneven_singletons_t0.1", rng, rng.permutation(uneven), 24, 0.1)
    for t in (0.05, 0.1, 0.5):
        single_case("n24_m3_t%s" % t, rng, view_major_ids(8, 3), 20, t)
    single_case("n16_m4_t0.01_scaled", rng, view_major_ids(4, 4), 8, 0.01, scale=30.0)
    single_case("all_distinct_t0.1", rng, np.arange(10), 12, 0.1)
    nt_xent_case("nt_xent_pairs16_t0.2", rng, pairs=16, dim=24, temperature=0.2)
    distributed_case("dist_3ranks_t0.1", rng, captions_per_rank=4, views=3, ranks=3, dim=16,
                     temperature=0.1, shared_captions=False)
    distributed_case("dist_3ranks_shared_t0.2", rng, captions_per_rank=3, views=2, ranks=3, dim=12,
                     temperature=0.2, shared_captions=True)
    image_text_case("image_text_n6_m3", rng, captions=6, views=3, dim=16, text_dim_unused=None,
                    temperature=0.1, log_scale=float(np.log(1 / 0.07)), w_img=1.0, w_txt=1.0)
    image_text_case("image_text_n5_m2_weighted", rng, captions=5, views=2, dim=12, text_dim_unused=None,
                    temperature=0.2, log_scale=2.0, w_img=0.5, w_txt=2.0)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
