"Checks on the exported modules (not the notebooks' own definitions): catches a stale export of 02a_viz, 03_patch_embed, 04_vit."
from collections import OrderedDict

import pytest
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import QuickGELU as TimmQuickGELU

from mplug_nb.config import get_config
from mplug_nb.patch_embed import VisionEmbeddings, resize_pos_embed
from mplug_nb.viz import attention_rollout
from mplug_nb.vit import Attention, VisionTransformer, convert_clip_visual
from mplug_nb.testing import load_checked


def test_from_timm_matches_forward_features():
    torch.manual_seed(0)
    tm = timm.models.vision_transformer.VisionTransformer(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3).eval()
    ours = VisionTransformer.from_timm(tm).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (ours(x) - tm.forward_features(x)).abs().max() < 1e-5
        y, attns = ours(x, output_attentions=True)
    assert (y - ours(x)).abs().max() < 1e-5 and len(attns) == 2 and attns[0].shape == (2, 3, 17, 17)


def test_attention_matches_multihead_attention():
    torch.manual_seed(0)
    att = Attention(16, 4).eval()
    mha = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    mha.load_state_dict({'in_proj_weight': att.qkv.weight, 'in_proj_bias': att.qkv.bias,
                         'out_proj.weight': att.proj.weight, 'out_proj.bias': att.proj.bias})
    x = torch.randn(2, 5, 16)
    out, p = att(x, output_attentions=True)
    ref, ref_p = mha(x, x, x, average_attn_weights=False)
    assert (out - ref).abs().max() < 1e-5 and (p - ref_p).abs().max() < 1e-6


def test_clip_flavour_matches_sequence_first_reference():
    torch.manual_seed(0)
    cfg = get_config('nano', vision_flavour='clip')
    d = cfg.vision_width
    block = lambda: nn.ModuleDict(dict(attn=nn.MultiheadAttention(d, cfg.vision_heads), ln_1=nn.LayerNorm(d), ln_2=nn.LayerNorm(d),
        mlp=nn.Sequential(OrderedDict(c_fc=nn.Linear(d, 4 * d), gelu=TimmQuickGELU(), c_proj=nn.Linear(4 * d, d)))))
    ref = nn.ModuleDict(dict(conv1=nn.Conv2d(3, d, cfg.patch_size, cfg.patch_size, bias=False), ln_pre=nn.LayerNorm(d),
                             ln_post=nn.LayerNorm(d), transformer=nn.ModuleDict(dict(resblocks=nn.ModuleList([block() for _ in range(cfg.vision_layers)])))))
    ref.class_embedding = nn.Parameter(torch.randn(d))
    ref.positional_embedding = nn.Parameter(torch.randn(cfg.num_visual_tokens, d))
    ours = load_checked(VisionTransformer(cfg), convert_clip_visual(ref.state_dict())).eval()
    x = torch.randn(2, 3, cfg.image_size, cfg.image_size)
    with torch.no_grad():
        h = ref.conv1(x).flatten(2).transpose(1, 2)
        h = torch.cat([ref.class_embedding.expand(2, 1, d), h], 1) + ref.positional_embedding
        h = ref.ln_pre(h).transpose(0, 1)                                        # (L, B, D)
        for b in ref.transformer.resblocks:
            y = b.ln_1(h); h = h + b.attn(y, y, y, need_weights=False)[0]
            h = h + b.mlp(b.ln_2(h))
        h = ref.ln_post(h.transpose(0, 1))
        assert (ours.eval()(x) - h).abs().max() < 1e-5


def test_position_grid_resize_and_errors():
    cfg = get_config('nano', vision_flavour='timm')
    emb = VisionEmbeddings(cfg)
    pos = emb.pos_embed.detach()
    assert torch.equal(resize_pos_embed(pos, cfg.grid_size), pos)
    hand = F.interpolate(pos[:, 1:].reshape(1, 4, 4, -1).permute(0, 3, 1, 2), size=(6, 6), mode='bilinear', align_corners=False)
    assert torch.allclose(resize_pos_embed(pos, 6)[:, 1:], hand.permute(0, 2, 3, 1).reshape(1, 36, -1), atol=1e-6)
    with pytest.raises(ValueError, match='interpolate_pos_encoding'): emb(torch.randn(1, 3, 48, 48))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'): emb(torch.randn(1, 1, 32, 32))
    assert emb(torch.randn(1, 3, 48, 48), interpolate_pos_encoding=True).shape == (1, 37, cfg.vision_width)


def test_rollout_by_hand():
    l1 = torch.tensor([[[.8, .2], [.4, .6]], [[.6, .4], [.2, .8]]])[None]
    l2 = torch.tensor([[[.5, .5], [.1, .9]]])[None]
    assert torch.allclose(attention_rollout([l1, l2])[0], torch.tensor([[.675, .325], [.185, .815]]), atol=1e-6)
