"ShapesWorld as installed (mplug_nb.world and the mplug_nb_shapes console script): what the notebook tests, run on the exported module."
import json, shutil, subprocess, sys
from pathlib import Path
import pytest
from mplug_nb.world import generate
from mplug_nb.annotate import parse_description, ANSWER_TYPES
from mplug_nb.scenes import SPLITS, HELD_OUT

def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}

def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    generate(tmp_path/'a', n_images=40, n_videos=8, seed=5, workers=1)
    generate(tmp_path/'b', n_images=40, n_videos=8, seed=5, workers=2)
    a, b = tree(tmp_path/'a'), tree(tmp_path/'b')
    assert list(a) == list(b) and [k for k in a if a[k] != b[k]] == []
    generate(tmp_path/'b', n_images=40, n_videos=8, seed=6, workers=2)      # regenerating in place replaces everything
    assert tree(tmp_path/'b')['images/train/train_000000.png'] != a['images/train/train_000000.png']

def test_console_script(tmp_path):
    exe = Path(sys.executable).with_name('mplug_nb_shapes')
    cmd = [str(exe)] if exe.exists() else [sys.executable, '-c', 'from mplug_nb.world import main; main()']
    r = subprocess.run(cmd + ['--out', str(tmp_path/'sw'), '--n_images', '30', '--n_videos', '3', '--workers', '2'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert 'VQA answer balance' in r.stdout and 'retrieval ceiling' in r.stdout and 'wrote' in r.stdout
    assert json.loads((tmp_path/'sw'/'stats.json').read_text())['n_images'] == 30
    r = subprocess.run(cmd + ['--out', str(tmp_path/'sw'), '--n_images', '2'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and 'n_images: expected an int >= 3, got 2' in r.stderr

def test_balance_and_unique_retrieval(tmp_path):
    s = generate(tmp_path/'sw', n_images=1500, n_videos=60, seed=2)
    for t, b in s['vqa_balance'].items():
        if ANSWER_TYPES[t] == 'yes/no': assert abs(b['answers']['yes'] - 0.5) <= 0.05, (t, b)
        else: assert b['max_share'] <= 0.30, (t, b)
    assert abs(s['nlvr_true_ratio']['train'] - 0.5) <= 0.05
    for split in ('val', 'test'):
        assert s['retrieval_ceiling'][split] == {'t2i_r1': 1.0, 'i2t_r1': 1.0}
        entries = json.loads((tmp_path/'sw'/f'retrieval/retrieval_{split}.json').read_text())
        keys = [parse_description(c) for e in entries for c in e['caption']]
        assert len(set(keys)) == len(entries)                                # one scene per image, none shared
    train_text = (tmp_path/'sw'/'vqa/vqa_train.json').read_text().lower()
    assert not any(f'{c} {sh}' in train_text for c, sh in HELD_OUT)

@pytest.mark.parametrize('kw, msg', [(dict(n_images=2), 'n_images'), (dict(size=20), 'size'), (dict(n_images='9'), 'n_images'),
                                     (dict(frames=1), 'frames'), (dict(noise=1), 'noise')])
def test_bad_arguments_name_themselves(tmp_path, kw, msg):
    with pytest.raises((ValueError, TypeError), match=msg): generate(tmp_path/'x', **{'n_images': 10, **kw})
