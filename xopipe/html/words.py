"""The explorer page's words, in English or Chinese (figures.lang=zh)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "xopipe: {source} through the {pipeline} pipeline ({backend}, {dtype})",
        "lead": "What each stage did, in order (a stage reads the stage named after "
        "reads; shapes are channels×rows×cols):",
        "saved": "On disk, every value is {saved}.",
        "kernels_saved": "Its kernels and bias: every value is {saved}.",
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
        "large": "A downsampled map of this channel: click it to open a 64×64 window there.",
        "open": "click to open a 64×64 window here",
        "kernels": "kernels",
        "recompute": "Recompute",
        "reset": "Back to the run's values",
        "recomputed": "Recomputed in the page (JavaScript, float64) in {ms} ms.",
        "stored": "Showing the run's own values (matrices.parquet).",
        "too_large": "This run has {cells} cells, more than the page holds ({limit}); "
        "the first stage's values are {saved}.",
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
        "figures_off": "Figures were off for this run (figures=none).",
    },
    "zh": {
        "title": "xopipe：{source} 经过 {pipeline} 流程（{backend}，{dtype}）",
        "lead": "每一步按顺序做了什么（每一步读取“输入”所指的那一步；形状为 通道×行×列）：",
        "saved": "磁盘上的保存位置：{saved}。",
        "kernels_saved": "卷积核与偏置的保存位置：{saved}。",
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
        "large": "该通道的缩略图：点击即在该处打开 64×64 的窗口。",
        "open": "点击在此处打开 64×64 的窗口",
        "kernels": "卷积核",
        "recompute": "重新计算",
        "reset": "恢复本次运行的数值",
        "recomputed": "已在本页中重新计算（JavaScript，float64），用时 {ms} 毫秒。",
        "stored": "显示的是本次运行的数值（matrices.parquet）。",
        "too_large": "本次运行共有 {cells} 个数值，超过本页可容纳的 {limit} 个；"
        "第一步的数值保存在：{saved}。",
        "no_script": "交互浏览需要 JavaScript；下面的图不需要。",
        "figures": "图",
        "explained": "{cell} 的计算过程",
        "configuration": "配置",
        "overrides": "命令行中给出的覆盖项：",
        "no_overrides": "（无：全部为默认值）",
        "whole_config": "本次运行的完整配置（.hydra/config.yaml）：",
        "files": "文件与清单",
        "files_lead": "在本页之前写出的文件及其 sha256（{manifest} 最后写出，也列出本页）：",
        "figures_off": "本次运行关闭了图（figures=none）。",
    },
}
