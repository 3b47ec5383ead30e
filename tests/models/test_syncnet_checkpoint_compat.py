"""syncnet_v2.model files as the reference loads them: ``SyncNetInstance.loadParameters`` copies
tensors by name, so a checkpoint written before PyTorch 0.4.1 (no BatchNorm ``num_batches_tracked``)
loads there; it must load here too, with the same numbers, while any other missing tensor is refused."""

import pytest
import torch

from avatar_eval.errors import WeightsUnavailable
from avatar_eval.models.syncnet import SyncNet, load_syncnet


def _random_syncnet(seed=0):
    torch.manual_seed(seed)
    net = SyncNet()
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.normal_(0, 0.1, generator=g)
            m.running_var.uniform_(0.5, 2.0, generator=g)
            m.num_batches_tracked.fill_(1234)
    return net.eval()


def test_checkpoint_without_bn_counters_loads_with_same_outputs(tmp_path):
    src = _random_syncnet()
    old = {k: v for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert len(old) < len(src.state_dict())
    f = tmp_path / "syncnet_v2.model"
    torch.save(old, f)
    m = load_syncnet(f)
    x = torch.rand(2, 3, 5, 224, 224) * 255
    a = torch.randn(2, 1, 13, 20)
    with torch.no_grad():
        torch.testing.assert_close(m.forward_lip(x), src.forward_lip(x), rtol=0, atol=0)
        torch.testing.assert_close(m.forward_aud(a), src.forward_aud(a), rtol=0, atol=0)


def test_checkpoint_with_bn_counters_still_loads(tmp_path):
    src = _random_syncnet(1)
    f = tmp_path / "syncnet_v2.model"
    torch.save(src.state_dict(), f)
    m = load_syncnet(f)
    assert int(m.netcnnaud[1].num_batches_tracked) == 1234


def test_other_missing_tensors_are_still_refused(tmp_path):
    sd = {k: v for k, v in _random_syncnet().state_dict().items() if not k.endswith("num_batches_tracked")}
    del sd["netcnnlip.1.running_var"]
    f = tmp_path / "syncnet_v2.model"
    torch.save(sd, f)
    with pytest.raises(WeightsUnavailable, match="netcnnlip.1.running_var"):
        load_syncnet(f)
