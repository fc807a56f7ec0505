"Every installed command, on each kind of bad input: one `error:` line on stderr, exit status 2, no traceback."
import os, subprocess, sys
from pathlib import Path
import pytest
from PIL import Image

BIN = Path(sys.executable).parent


@pytest.fixture(scope='module')
def place(tmp_path_factory):
    "A folder with an image, a corrupt image, a VQA model, a captioning model, a pre-trained model and a garbage model."
    import torch
    from mplug_nb.config import get_config
    from mplug_nb.tokenizer import train_tokenizer
    from mplug_nb.model import MPLUG
    from mplug_nb.finetune import get_task, save_task_model
    d = tmp_path_factory.mktemp('commands')
    Image.new('RGB', (40, 30), (200, 30, 30)).save(d / 'red.png')
    (d / 'bad.png').write_bytes(b'not a png')
    cfg = get_config('nano', vocab_size=256, queue_size=0, itc_batch='online', alpha=0.)
    tok = train_tokenizer(['what colour is the red circle', 'a red circle', 'red', 'how many circles are there'], cfg.vocab_size)
    torch.manual_seed(0)
    for task in ('vqa', 'caption'):
        t = get_task(task, tok, cfg)
        save_task_model(t.build(MPLUG(cfg)), t, d / task)
    MPLUG(cfg).save_pretrained(d / 'pt'); tok.save_pretrained(d / 'pt')
    (d / 'garbage').mkdir()
    for f in ('model.safetensors', 'config.json', 'vocab.txt'): (d / 'garbage' / f).write_bytes(b'\x00garbage')
    (d / 'file').write_text('')
    return d


CASES = {   # name: (command line after the script, what the one line must say)
    'shapes to an unwritable place': (['mplug_nb_shapes', '--out', '/proc/nope', '--n_images', '30'], 'error: '),
    'shapes over a file': (['mplug_nb_shapes', '--out', '{d}/file', '--n_images', '30'], 'expected a folder'),
    'shapes, negative images': (['mplug_nb_shapes', '--out', '{d}/sw', '--n_images', '-5'], 'n_images'),
    'vqa, empty question': (['mplug_nb_vqa', '{d}/red.png', '', '--ckpt', '{d}/vqa'], 'expected a question'),
    'vqa, captioning model': (['mplug_nb_vqa', '{d}/red.png', 'what colour?', '--ckpt', '{d}/caption'], 'holds a captioning model; mplug_nb_vqa needs a VQA model'),
    'vqa, pre-trained model': (['mplug_nb_vqa', '{d}/red.png', 'what colour?', '--ckpt', '{d}/pt'], 'holds a pre-trained model'),
    'vqa, missing image': (['mplug_nb_vqa', '{d}/nope.png', 'what colour?', '--ckpt', '{d}/vqa'], 'no image file'),
    'vqa, corrupt image': (['mplug_nb_vqa', '{d}/bad.png', 'what colour?', '--ckpt', '{d}/vqa'], 'cannot read image'),
    'vqa, garbage checkpoint': (['mplug_nb_vqa', '{d}/red.png', 'what colour?', '--ckpt', '{d}/garbage'], 'error: '),
    'caption, missing folder': (['mplug_nb_caption', '{d}/red.png', '--ckpt', '{d}/nowhere'], 'not a folder'),
    'caption, VQA model': (['mplug_nb_caption', '{d}/red.png', '--ckpt', '{d}/vqa'], 'holds a VQA model; mplug_nb_caption needs a captioning model'),
    'caption, bad beam': (['mplug_nb_caption', '{d}/red.png', '--ckpt', '{d}/caption', '--beam', '0'], '--beam'),
    'ground, missing image': (['mplug_nb_ground', '{d}/nope.png', 'the red circle', '--ckpt', '{d}/vqa'], 'no image file'),
    'ground, VQA model': (['mplug_nb_ground', '{d}/red.png', 'the red circle', '--ckpt', '{d}/vqa'], 'holds a VQA model; mplug_nb_ground needs a grounding model'),
    'pretrain, missing world': (['mplug_nb_pretrain', '--data', '{d}/noworld', '--out', '{d}/p', '--steps', '1'], 'noworld'),
    'finetune, missing world': (['mplug_nb_finetune', '--task', 'vqa', '--data', '{d}/noworld', '--pretrained', '{d}/pt', '--out', '{d}/f'], 'noworld'),
    'eval, missing checkpoint': (['mplug_nb_eval', '--task', 'vqa', '--data', '{d}/noworld', '--ckpt', '{d}/nowhere'], 'error: '),
    'results, unknown budget': (['mplug_nb_results', '--budget', 'huge'], 'invalid choice'),
    'ablation, no seeds': (['mplug_nb_ablation', '--seeds', '0'], '--seeds'),
    'bench, unknown option': (['mplug_nb_bench', '--nope'], 'unrecognized arguments'),
}

@pytest.mark.parametrize('case', list(CASES))
def test_bad_input_one_line(place, case):
    argv, says = CASES[case]
    cmd = [str(BIN / argv[0])] + [a.format(d=place) for a in argv[1:]]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=place, env={**os.environ, 'MPLBACKEND': 'Agg'})
    lines = r.stderr.splitlines()
    errors = [l for l in lines if 'error:' in l]
    assert r.returncode == 2, (case, r.returncode, r.stderr[-3000:])
    assert 'Traceback' not in r.stderr and len(errors) == 1 and says in errors[0], (case, r.stderr[-3000:])
    assert all(l.startswith(('usage:', ' ')) for l in lines if l not in errors), (case, r.stderr)   # argparse's usage at most
