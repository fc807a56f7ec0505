"Tests of `mplug_nb.learner`: DDP under torchrun equals one process, exact resumption, NaN safety, bad input, the schedules."
import json, math, os, subprocess, sys, time
from pathlib import Path
import pytest
import torch
from torch import nn
from mplug_nb.dist import concat_all_gather
from mplug_nb.learner import Learner, NonFiniteLossError, ResumableSampler, cosine_lr, list_checkpoints, official_lr, read_metrics
from mplug_nb.testing import ToyDataset, ToyVL

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from learner_ddp_worker import train as ddp_train  # noqa: E402

TERMS = ('step', 'loss', 'ce', 'align')

def toy(out, **kw):
    "The toy run of the resume and NaN tests: dropout, EMA twin, queue, accumulation 2, clipping, 4 steps an epoch."
    torch.manual_seed(0)
    kw = {**dict(batch_size=8, lr=3e-3, lr_visual=1e-3, max_steps=12, warmup_steps=3, accum=2, clip=1.0, device='cpu',
                 save_every=4, keep=2, seed=1, progress=False), **kw}
    return Learner(ToyVL(p_drop=0.1), ToyDataset(64), out=out, **kw)

def losses(hist): return [{k: r[k] for k in TERMS} for r in hist]

def torchrun(*args, ok=True):
    "Run the worker on 2 gloo processes with this interpreter's torch; returns the CompletedProcess."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': os.pathsep.join([str(HERE.parent), os.environ.get('PYTHONPATH', '')])}
    t = time.time()
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                        str(HERE/'learner_ddp_worker.py'), *map(str, args)], env=env, capture_output=True, text=True, timeout=120)
    if ok: assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    print(f'torchrun {args[1:]} took {time.time() - t:.1f}s')
    return r

def test_ddp_two_processes_equal_one_process(tmp_path):
    "torchrun, 2 gloo processes x batch 4 == 1 process x batch 8: parameters, queue, logged losses."
    torchrun(tmp_path/'ddp', 4, 6, 2)
    single = ddp_train(tmp_path/'one', 8, 6, 2)
    ddp = torch.load(list_checkpoints(tmp_path/'ddp')[-1], weights_only=True)
    one = torch.load(list_checkpoints(tmp_path/'one')[-1], weights_only=True)
    assert ddp['step'] == one['step'] == 6 and ddp['config']['world_size'] == 2 and len(ddp['rng']) == 2
    diff = max((ddp['model'][k].float() - v.float()).abs().max().item() for k, v in one['model'].items())
    print(f'max |DDP - single| over the state dict: {diff:.2e}')
    assert diff < 1e-5
    # the queue holds both ranks' momentum features: the last global batch (rows 24:32) is the momentum encoder's
    # features of the 8 items of micro-batch 12 (epoch 1, batch 3), rank 0's 4 then rank 1's 4
    m = ToyVL(p_drop=0.0, queue=32); m.load_state_dict(ddp['model'])
    ds = ToyDataset(64)
    idx = ResumableSampler(64, 8, seed=0).order(1)[24:32]
    with torch.no_grad(): want = m.visual_encoder_m(ds.x[idx])
    assert int(ddp['model']['queue_ptr']) == 0
    torch.testing.assert_close(ddp['model']['queue'][24:32], want, atol=1e-6, rtol=0)
    r0, r1 = (ResumableSampler(64, 4, seed=0, rank=k, world_size=2) for k in range(2))
    r0.set_epoch(1, 3); r1.set_epoch(1, 3)
    assert torch.cat([torch.tensor(next(iter(r0))), torch.tensor(next(iter(r1)))]).tolist() == idx.tolist()
    # rank 0's metrics are the mean over both ranks: the single process's losses
    h_ddp, h_one = read_metrics(tmp_path/'ddp'/'metrics.jsonl'), read_metrics(tmp_path/'one'/'metrics.jsonl')
    assert [r['step'] for r in h_ddp] == list(range(6))
    for a, b in zip(h_ddp, h_one):
        for k in ('loss', 'ce', 'align', 'grad_norm'): assert abs(a[k] - b[k]) < 1e-5, (k, a, b)

def test_ddp_resume_is_bit_identical_and_nan_stops_every_rank(tmp_path):
    "Under torchrun with dropout (per-rank generators): stop at 3 + resume == uninterrupted; a NaN on rank 1 stops both ranks."
    torchrun(tmp_path/'full', 4, 6, 2, '--p_drop', 0.3)
    torchrun(tmp_path/'run', 4, 6, 2, '--p_drop', 0.3, '--stop_at', 3)
    st = torch.load(list_checkpoints(tmp_path/'run')[-1], weights_only=True)
    assert st['step'] == 3 and len(st['rng']) == 2 and not torch.equal(st['rng'][0]['torch'], st['rng'][1]['torch'])
    torchrun(tmp_path/'run', 4, 6, 2, '--p_drop', 0.3, '--resume')
    h_full, h_run = read_metrics(tmp_path/'full'/'metrics.jsonl'), read_metrics(tmp_path/'run'/'metrics.jsonl')
    assert losses(h_run) == losses(h_full) and len(h_full) == 6
    a = torch.load(list_checkpoints(tmp_path/'full')[-1], weights_only=True)['model']
    b = torch.load(list_checkpoints(tmp_path/'run')[-1], weights_only=True)['model']
    for k in a: assert torch.equal(a[k], b[k]), k
    r = torchrun(tmp_path/'nan', 4, 6, 2, '--save_every', 2, '--nan_rank', 1, '--nan_step', 3, ok=False)
    assert r.returncode != 0
    errs = [json.loads((tmp_path/'nan'/f'error_rank{k}.json').read_text()) for k in range(2)]
    assert all(e['step'] == 3 and e['terms'] == ['ce', 'loss'] for e in errs), errs
    assert [p.name for p in list_checkpoints(tmp_path/'nan')] == ['ckpt_00000002.pt']

def test_resume_after_stop_is_bit_identical(tmp_path):
    ref = toy(tmp_path/'ref'); h_ref = ref.fit()
    toy(tmp_path/'run').fit(stop_at=5)                                  # stopped mid-epoch (epoch 1, micro-batch 2)
    assert [p.name for p in list_checkpoints(tmp_path/'run')] == ['ckpt_00000004.pt', 'ckpt_00000005.pt']
    again = toy(tmp_path/'run'); h = again.fit(resume=True)
    assert losses(h) == losses(h_ref)                                   # exact float equality, every step
    assert read_metrics(tmp_path/'run'/'metrics.jsonl') == h
    for (k, v), v0 in zip(again.model.state_dict().items(), ref.model.state_dict().values()): assert torch.equal(v, v0), k

def test_resume_after_crash_is_bit_identical(tmp_path):
    h_ref = toy(tmp_path/'ref').fit()
    def crash(model, batch, step):
        if step == 7: raise RuntimeError('simulated crash')
        return model(**batch)
    with pytest.raises(RuntimeError, match='simulated crash'): toy(tmp_path/'run', loss_fn=crash).fit()
    assert list_checkpoints(tmp_path/'run')[-1].name == 'ckpt_00000004.pt'
    assert len(read_metrics(tmp_path/'run'/'metrics.jsonl')) == 7      # steps 0..6 were logged before the crash
    h = toy(tmp_path/'run').fit(resume=True)
    assert losses(h) == losses(h_ref)
    assert [r['step'] for r in read_metrics(tmp_path/'run'/'metrics.jsonl')] == list(range(12))

def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    def nan_at_6(model, batch, step):
        out = model(**batch)
        if step == 6: out['ce'] = out['ce'] * float('nan'); out['loss'] = out['ce'] + out['align']
        return out
    with pytest.raises(NonFiniteLossError) as ei: toy(tmp_path/'nan', loss_fn=nan_at_6).fit()
    e = ei.value
    assert isinstance(e, RuntimeError) and e.step == 6 and set(e.terms) == {'ce', 'loss'} and 'align' not in e.terms
    assert 'step 6' in str(e) and "'ce'=nan" in str(e)
    assert [p.name for p in list_checkpoints(tmp_path/'nan')] == ['ckpt_00000004.pt']
    ref = toy(None); ref.fit(stop_at=4)                                  # the uninterrupted run's state after 4 steps
    st = torch.load(tmp_path/'nan'/'ckpt_00000004.pt', weights_only=True)
    for k, v in ref.model.state_dict().items(): assert torch.equal(st['model'][k], v), k

@pytest.mark.parametrize('kw, msg', [
    (dict(accum=0), 'accum: expected an int >= 1, got 0'), (dict(accum=1.5), 'accum: expected an int >= 1, got float 1.5'),
    (dict(keep=0), 'keep: expected an int >= 1, got 0'), (dict(batch_size='8'), "batch_size: expected an int >= 1, got str '8'"),
    (dict(precision='fp64'), "precision: expected one of ('auto', 'mixed', 'fp32', 'bf16', 'fp16'), got 'fp64'"),
    (dict(device='tpu'), "device: expected"), (dict(save_every=0), 'save_every: expected an int >= 1 or None, got 0'),
    (dict(clip=-1.), 'clip: expected a number > 0'), (dict(loss_fn='ce'), 'loss_fn: expected a callable')])
def test_bad_input(kw, msg):
    "Refused with the field, what was expected and what came (a value of the wrong type: `TypeError`, as `mplug_nb.testing.check_int` raises)."
    with pytest.raises((ValueError, TypeError), match=msg.replace('(', r'\(').replace(')', r'\)')):
        Learner(ToyVL(), ToyDataset(16), **{'batch_size': 4, 'device': 'cpu', **kw})

def test_loss_fn_contract():
    learn = Learner(ToyVL(), ToyDataset(16), loss_fn=lambda m, b, s: {'ce': m(**b)['ce']}, batch_size=4, device='cpu', progress=False)
    with pytest.raises(ValueError, match="'loss' total"): learn.fit()

def test_concat_all_gather_identity_outside_a_group():
    x = torch.randn(3, 2, requires_grad=True)
    g = concat_all_gather(x)
    assert torch.equal(g, x) and not g.requires_grad

def test_optimizer_sees_the_schedule(tmp_path):
    "The LR of every group at every step is `cosine_lr` of its base LR (a hand computation, not the scheduler's)."
    h = toy(None).fit()
    for r in h:
        s = r['step']
        w = 0 if s >= 3 else s / 3
        want = lambda b: b * w if s < 3 else 0.5 * b * (1 + math.cos(math.pi * (s - 3) / 9))
        assert abs(r['lr'] - want(3e-3)) < 1e-15 and abs(r['lr_visual'] - want(1e-3)) < 1e-15
        assert abs(cosine_lr(s, 3e-3, 12, 3) - r['lr']) < 1e-15

def test_official_lr_matches_timm_driven_like_the_official_loop():
    from timm.scheduler import CosineLRScheduler
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1e-4)
    s = CosineLRScheduler(opt, t_initial=5, lr_min=1e-6, warmup_lr_init=1e-6, warmup_t=2, cycle_limit=1, t_in_epochs=True)
    ref = []
    for epoch in range(5):
        if epoch > 0: s.step(epoch + 2)
        for i in range(330):
            ref.append(opt.param_groups[0]['lr'])
            if epoch == 0 and i % 100 == 0 and i <= 200: s.step(i // 100)
    got = [official_lr(it, 1e-4, 330, 5, 2, 1e-6, 1e-6) for it in range(len(ref))]
    assert max(abs(a - b) for a, b in zip(got, ref)) < 1e-18

def test_workers_give_the_same_run():
    "Dataloader workers (seeded per epoch) change nothing for a deterministic dataset; a mid-epoch resume with workers too."
    h0 = toy(None, max_steps=6).fit()
    h2 = toy(None, max_steps=6, num_workers=2).fit()
    assert losses(h2) == losses(h0)
