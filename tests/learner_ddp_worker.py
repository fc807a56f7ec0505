"""Worker for `tests/test_learner.py`: trains the toy model with `mplug_nb.learner.Learner`.

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/learner_ddp_worker.py OUT BATCH STEPS ACCUM
        [--p_drop P] [--stop_at K] [--resume] [--nan_rank R --nan_step S]

Under torchrun each process trains on its slice of the global batches (gloo on CPU); in one process (`train(...)`
with the global batch) it trains on the same global batches. Checkpoints and metrics land in OUT; a
`NonFiniteLossError` is written to OUT/error_rank<r>.json and the process exits with status 3.
"""
import argparse, json, sys
from pathlib import Path
import torch
import torch.distributed as dist
from mplug_nb.dist import get_rank
from mplug_nb.learner import Learner, NonFiniteLossError
from mplug_nb.testing import ToyVL, ToyDataset

def train(out, batch_size: int, steps: int = 6, accum: int = 2, n: int = 64, p_drop: float = 0.0, stop_at=None,
          resume=False, loss_fn=None, save_every=None):
    "Train the toy (queue of 32 gathered momentum features) for `steps` steps; returns the learner."
    torch.manual_seed(0)
    learn = Learner(ToyVL(p_drop=p_drop, queue=32), ToyDataset(n), loss_fn=loss_fn, batch_size=batch_size, lr=3e-3,
                    lr_visual=1e-3, max_steps=steps, warmup_steps=2, accum=accum, clip=1.0, device='cpu', precision='fp32',
                    out=out, save_every=save_every, keep=3, progress=False, seed=0)
    learn.fit(resume=resume, stop_at=stop_at)
    return learn

def nan_on(rank: int, at: int):
    "A loss_fn whose `ce` turns NaN on rank `rank` at step `at`."
    def loss_fn(model, batch, step):
        out = model(**batch)
        if step == at and get_rank() == rank: out['ce'] = out['ce'] * float('nan'); out['loss'] = out['ce'] + out['align']
        return out
    return loss_fn

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('out'); ap.add_argument('batch', type=int); ap.add_argument('steps', type=int); ap.add_argument('accum', type=int)
    ap.add_argument('--p_drop', type=float, default=0.0); ap.add_argument('--stop_at', type=int, default=None)
    ap.add_argument('--resume', action='store_true'); ap.add_argument('--save_every', type=int, default=None)
    ap.add_argument('--nan_rank', type=int, default=None); ap.add_argument('--nan_step', type=int, default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    loss_fn = nan_on(a.nan_rank, a.nan_step) if a.nan_rank is not None else None
    try: train(a.out, a.batch, a.steps, a.accum, p_drop=a.p_drop, stop_at=a.stop_at, resume=a.resume, loss_fn=loss_fn, save_every=a.save_every)
    except NonFiniteLossError as e:
        (Path(a.out)/f'error_rank{get_rank()}.json').write_text(json.dumps({'step': e.step, 'terms': sorted(e.terms), 'msg': str(e)}))
        sys.exit(3)
    if dist.is_initialized(): dist.destroy_process_group()
