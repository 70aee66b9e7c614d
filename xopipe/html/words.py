"""The explorer page's words, in English or Chinese (figures.lang=zh)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "xopipe: {source} through the {pipeline} pipeline ({backend}, {dtype})",
        "lead": "What each stage did, in order (a stage reads the stage named after "
        "reads; shapes are channels×rows×cols):",
        "saved": "On disk, every value is in {places}.",
        "not_saved_formats": "Not saved on disk (tables.formats is empty).",
        "not_saved_stages": "Not saved on disk (tables.stages leaves {stage} out).",
        "kernels_saved": "Its kernels and bias: every value is in {places}.",
        "kernels_not_saved": "Its kernels and bias are not saved either.",
        "places_and": " and ",
        "explorer": "Explorer",
        "explorer_lead": "Click any cell of any stage: the cells it reads light up in green "
        "(padding as the border it really is), the cells downstream that read it in orange, "
        "and its arithmetic appears on the right. Change a setting to recompute the whole "
        "pipeline in this page.",
        "legend_source": "read by the cell",
        "legend_feeds": "reads the cell",
        "legend_picked": "the cell",
        "hint": "Click a cell to see how it was computed.",
        "reads": "reads",
        "feeds": "read by",
        "input": "the input image",
        "channel": "channel",
        "rows": "rows",
        "cols": "cols",
        "zoom": "zoom (or Ctrl + wheel); drag to pan",
        "pad_border": "hatched cells: the padding {readers} reads beyond the edge, "
        "not part of the {shape} map",
        "large": "A downsampled map of this channel: click it to open a 64×64 window there.",
        "open": "click to open a 64×64 window here",
        "kernels": "kernels",
        "kernel": "kernel",
        "bias": "bias",
        "recompute": "Recompute",
        "reset": "Back to the run's values",
        "recomputed": "Recomputed in the page (JavaScript, float64) in {ms} ms.",
        "stored": "Showing the run's own values (matrices.parquet).",
        "too_large": "This run has {cells} cells, more than the page holds ({limit}), so the "
        "page has no explorer; {where}",
        "too_large_saved": "every value is in {places}.",
        "too_large_listed": "the list above says where each stage's values are on disk.",
        "no_script": "The explorer needs JavaScript; the figures below do not.",
        "figures": "Figures",
        "explained": "How {cell} was computed",
        "configuration": "Configuration",
        "overrides": "Overrides given on the command line:",
        "no_overrides": "(none: the defaults)",
        "whole_config": "The whole configuration of this run (.hydra/config.yaml):",
        "files": "Files and manifest",
        "files_lead": "Files written before this page, with their sha256 ({manifest} is "
        "written last and lists this page too):",
        "facts_lead": "What the run recorded when this page was written. Whether it completed "
        "is not here: the page is written before the run ends, and {manifest}, written last, "
        "says complete or failed.",
        "figures_off": "Figures were off for this run (figures=none).",
    },
    "zh": {
        "title": "xopipe：{source} 经过 {pipeline} 流程（{backend}，{dtype}）",
        "lead": "每一步按顺序做了什么（每一步读取“输入”所指的那一步；形状为 通道×行×列）：",
        "saved": "磁盘上的保存位置：{places}。",
        "not_saved_formats": "未保存到磁盘（tables.formats 为空）。",
        "not_saved_stages": "未保存到磁盘（tables.stages 中没有 {stage}）。",
        "kernels_saved": "卷积核与偏置的保存位置：{places}。",
        "kernels_not_saved": "卷积核与偏置也未保存。",
        "places_and": " 和 ",
        "explorer": "交互浏览",
        "explorer_lead": "点击任意一步的任意一个格子：它读取的格子以绿色标出"
        "（填充显示为真实的边框），"
        "读取它的下游格子以橙色标出，右侧显示它的计算过程。修改参数即可在本页中重新计算整个流程。",
        "legend_source": "被该格子读取",
        "legend_feeds": "读取该格子",
        "legend_picked": "该格子",
        "hint": "点击一个格子，查看它是如何计算出来的。",
        "reads": "输入",
        "feeds": "下游",
        "input": "原图",
        "channel": "通道",
        "rows": "行",
        "cols": "列",
        "zoom": "缩放（或 Ctrl + 滚轮）；拖动以平移",
        "pad_border": "斜线格：{readers} 在边缘之外读取的填充，不属于 {shape} 的图",
        "large": "该通道的缩略图：点击即在该处打开 64×64 的窗口。",
        "open": "点击在此处打开 64×64 的窗口",
        "kernels": "卷积核",
        "kernel": "卷积核",
        "bias": "偏置",
        "recompute": "重新计算",
        "reset": "恢复本次运行的数值",
        "recomputed": "已在本页中重新计算（JavaScript，float64），用时 {ms} 毫秒。",
        "stored": "显示的是本次运行的数值（matrices.parquet）。",
        "too_large": "本次运行共有 {cells} 个数值，超过本页可容纳的 {limit} 个，"
        "因此本页没有交互浏览；{where}",
        "too_large_saved": "所有数值的保存位置：{places}。",
        "too_large_listed": "上面的列表说明了每一步的数值保存在哪里。",
        "no_script": "交互浏览需要 JavaScript；下面的图不需要。",
        "figures": "图",
        "explained": "{cell} 的计算过程",
        "configuration": "配置",
        "overrides": "命令行中给出的覆盖项：",
        "no_overrides": "（无：全部为默认值）",
        "whole_config": "本次运行的完整配置（.hydra/config.yaml）：",
        "files": "文件与清单",
        "files_lead": "在本页之前写出的文件及其 sha256（{manifest} 最后写出，也列出本页）：",
        "facts_lead": "写出本页时运行记录的信息。其中没有运行是否完成：本页在运行结束之前写出，"
        "最后写出的 {manifest} 注明本次运行是否完成。",
        "figures_off": "本次运行关闭了图（figures=none）。",
    },
}

# The gradient view's words: in the page's data only when the run has a loss, so that a
# forward-only page carries exactly what it did before losses existed.
GRADIENT_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "grad_view": "Gradient view",
        "grad_lead": "This run has a loss: {loss} (L = {value}), so every cell also holds "
        "dL/d itself, the gradient the backward pass gave it (gradients.parquet). In "
        "gradient view the cells show it, coloured red above 0 and blue below; a click marks "
        "in green the cells downstream its gradient comes from (the cells that read it), in "
        "orange the cells it passes its gradient on to (the cells it reads), and writes the "
        "chain rule on the right.",
        "grad_sum": "loss=sum, the sum of every cell of {stages}",
        "grad_mse": "loss=mse, the sum over {stages} of mean((out − target)²), targets zeros",
        "grad_mse_files": "loss=mse, the sum over {stages} of mean((out − target)²)",
        "grad_files": "The targets of this loss are files ({files}): the page reads no files, "
        "so it shows the run's own gradients and recomputes none when a setting changes.",
        "grad_hint": "Gradient view: click a cell to see how its gradient was computed.",
        "grad_none": "No gradients for these values: the page recomputes them only for a loss "
        "without target files (or give loss=sum).",
        "legend_grad_source": "its gradient comes from (reads the cell)",
        "legend_grad_feeds": "its gradient goes on to (read by the cell)",
        "grad_from": "gradient from",
        "grad_to": "passed on to",
    },
    "zh": {
        "grad_view": "梯度视图",
        "grad_lead": "本次运行设置了损失：{loss}（L = {value}），因此每个格子还带有 dL/d 它自身，"
        "即反向传播给它的梯度（gradients.parquet）。在梯度视图中，格子显示梯度，"
        "大于 0 为红色，小于 0 为蓝色；点击一个格子，它的梯度所来自的下游格子（读取它的格子）"
        "以绿色标出，它把梯度继续传给的格子（它读取的格子）以橙色标出，右侧显示链式法则的计算过程。",
        "grad_sum": "loss=sum，{stages} 所有格子之和",
        "grad_mse": "loss=mse，{stages} 各自 mean((out − target)²) 之和，目标为零",
        "grad_mse_files": "loss=mse，{stages} 各自 mean((out − target)²) 之和",
        "grad_files": "该损失的目标来自文件（{files}）：本页不读取文件，"
        "因此只显示本次运行的梯度，修改参数后不重新计算梯度。",
        "grad_hint": "梯度视图：点击一个格子，查看它的梯度是如何计算出来的。",
        "grad_none": "这些数值没有梯度：本页只为不带目标文件的损失重新计算梯度"
        "（或设置 loss=sum）。",
        "legend_grad_source": "梯度来自（读取该格子）",
        "legend_grad_feeds": "梯度传给（被该格子读取）",
        "grad_from": "梯度来自",
        "grad_to": "传给",
    },
}


def gradient_lead(words: dict[str, str], loss: dict) -> str:
    """The gradient view's sentence: which loss, its value, and a target file's limit."""
    stages = words["places_and"].join(loss["stages"])
    key = "grad_sum" if loss["kind"] == "sum" else "grad_mse"
    if loss.get("targets"):
        key = "grad_mse_files"  # not zeros
    kind = words[key].format(stages=stages)
    lead = words["grad_lead"].format(loss=kind, value=repr(float(loss["value"])))
    if loss.get("targets"):
        files = ", ".join(f"{stage}: {path}" for stage, path in loss["targets"].items())
        lead += " " + words["grad_files"].format(files=files)
    return lead


# The zh page's one English line, shown only by a browser that has no Chinese font (it
# could not show the line in Chinese): xopipe/html/page_fonts.js.
NO_CJK_FONT = (
    "This page is in Chinese (figures.lang=zh), but this browser has no font with Chinese "
    "characters, so they show as empty boxes: install one (Debian, Ubuntu: apt-get install "
    "fonts-noto-cjk or fonts-wqy-microhei) or open the page where one is. The numbers, grids "
    "and figures are not affected."
)

# Figure captions in the page: the figure's kind (and stage, if any) in the page's language.
FIGURE_KINDS: dict[str, dict[str, str]] = {
    "en": {  # a run's kinds show their own names; a training run's:
        "curves": "loss and accuracy by epoch",
        "kernels_by_epoch": "kernels by epoch",
        "kernels_animation": "kernels over the epochs (animation)",
        "learned": "learned kernels beside the seed's hand-made ones",
        "confusion": "confusion matrix of the test split",
    },
    "zh": {
        "overview": "总览",
        "input": "原图",
        "kernels": "卷积核",
        "stage": "特征图",
        "animation": "动画",
        "explain": "计算过程",
        "curves": "各轮次的损失与准确率",
        "kernels_by_epoch": "各轮次的卷积核",
        "kernels_animation": "卷积核随轮次的变化（动画）",
        "learned": "学到的卷积核与原程序手工设计的卷积核",
        "confusion": "测试集的混淆矩阵",
    },
}


def saved_sentence(
    words: dict[str, str], places: list[str], why: str | None, stage: str, kernels: bool = False
) -> str:
    """Where a stage's values (or its kernels) are on disk, as a sentence of the page.

    places and why: xopipe.sinks.layout.saved_where's answer.
    """
    if places:
        key = "kernels_saved" if kernels else "saved"
        return words[key].format(places=words["places_and"].join(places))
    if kernels:
        return words["kernels_not_saved"]
    return words[f"not_saved_{why}"].format(stage=stage)
