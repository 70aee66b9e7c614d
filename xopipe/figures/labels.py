"""Titles of figures and their parts, in English or the seed's Chinese.

The Chinese titles are the seed's own (原图, 卷积核, 卷积后的特征图, ...);
fonts.py checks that the CJK font it picks has every character used here.
"""

from __future__ import annotations

import math

from xopipe.ops import OPS

# What each op's output is called, and the words around it.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "input": "input",
        "kernels": "kernels",
        "kernel": "kernel",
        "bias": "bias",
        "channel": "channel",
        "overview": "the pipeline, stage by stage",
        "reads": "reads",
        "window": "input window",
        "products": "window × kernel",
        "value in": "value in",
        "value out": "value out",
        "explain": "how one cell is computed",
        "output": "output",
        "more": "more not shown",
        "gradients": "gradients, backward from L",
        "epoch": "epoch",
        "loss": "loss (cross-entropy)",
        "accuracy": "accuracy",
        "train": "train",
        "test": "test",
        "curves": "loss and accuracy by epoch",
        "kernels by epoch": "kernels by epoch",
        "one scale": "one colour scale, centred on 0",
        "epochs shown": "epochs shown",
        "seed kernels": "the seed's hand-made kernels",
        "start": "start",
        "learned": "learned",
        "learned kernels": "learned kernels",
        "like": "most like the seed's",
        "confusion": "confusion matrix, test split",
        "true": "true class",
        "predicted": "predicted class",
        "correct": "correct",
    },
    "zh": {
        "input": "原图",
        "kernels": "卷积核",
        "kernel": "卷积核",
        "bias": "偏置",
        "channel": "通道",
        "overview": "卷积-池化-激活 流程总览",
        "reads": "输入",
        "window": "输入窗口",
        "products": "逐元素乘积",
        "value in": "输入值",
        "value out": "输出值",
        "explain": "一个输出值的计算过程",
        "output": "输出",
        "more": "个未显示",
        "gradients": "梯度（从损失反向传播）",
        "epoch": "轮次",
        "loss": "损失（交叉熵）",
        "accuracy": "准确率",
        "train": "训练集",
        "test": "测试集",
        "curves": "各轮次的损失与准确率",
        "kernels by epoch": "各轮次的卷积核",
        "one scale": "统一色标，以 0 为中心",
        "epochs shown": "显示的轮次",
        "seed kernels": "原程序手工设计的卷积核",
        "start": "初始",
        "learned": "学到的",
        "learned kernels": "学到的卷积核",
        "like": "最接近的原卷积核",
        "confusion": "混淆矩阵（测试集）",
        "true": "真实类别",
        "predicted": "预测类别",
        "correct": "正确",
    },
}


def word(lang: str, key: str) -> str:
    """A title word in `lang`; an op's name gives its output's title, from the op's words."""
    if key in OPS:
        return OPS[key].words.get(lang, {}).get("title", key)
    return WORDS[lang].get(key, key)


def cjk_characters() -> str:
    """Every non-ASCII character the Chinese titles use, for the font check."""
    titles = [op.words.get("zh", {}).get("title", "") for op in OPS.values()]
    texts = [*WORDS["zh"].values(), *titles]
    return "".join(sorted({ch for text in texts for ch in text if ord(ch) > 127}))


def cell_text(value: float) -> str:
    """A cell's value as a learner reads it: 2 decimals, no '-0.00'."""
    if math.isinf(value):
        return "−∞" if value < 0 else "∞"
    if math.isnan(value):
        return ""
    if abs(value) >= 1000:
        return f"{value:.3g}"
    return f"{round(value, 2) + 0.0:.2f}".replace("-", "−")  # a true minus sign
