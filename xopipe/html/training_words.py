"""A training run's page: its words in English or Chinese (figures.lang=zh).

`PAGE` replaces the run page's words of the same name (the explorer reads them
too); `TRAINING` are the epoch slider's and the image chooser's own. Words
with {placeholders} are filled in by the page's script, which knows the epoch
and the image shown.
"""

from __future__ import annotations

PAGE: dict[str, dict[str, str]] = {
    "en": {
        "title": "xopipe-train: {classes} through the {pipeline} pipeline ({backend}, {dtype}), "
        "{epochs} epochs",
        "lead": "The pipeline the run trained, stage by stage (a stage reads the stage named "
        "after reads; shapes are channels×rows×cols), then the head: one vote per class, a "
        "linear layer over the {terminal} outputs flattened in pipeline order.",
        "explorer": "Explorer: training, epoch by epoch",
        "reset": "Back to epoch {epoch}, test image #{index}",
        "stored": "Epoch {epoch}, test image #{index}: the values computed by the run "
        "(NumPy backend).",
    },
    "zh": {
        "title": "xopipe-train：{classes}，经过 {pipeline} 流程（{backend}，{dtype}），"
        "共 {epochs} 轮",
        "lead": "本次训练的流程，按顺序（每一步读取“输入”所指的那一步；形状为 通道×行×列），"
        "最后是分类头：每个类别一票，即对 {terminal} 的输出按流程顺序展平后的线性层。",
        "explorer": "交互浏览：逐轮回放训练",
        "reset": "恢复到第 {epoch} 轮、测试图像 #{index}",
        "stored": "第 {epoch} 轮、测试图像 #{index}：本次运行计算的数值（NumPy 后端）。",
    },
}

TRAINING: dict[str, dict[str, str]] = {
    "en": {
        "epochs_lead": "Move the slider to replay the training: the kernels and every feature "
        "map of the chosen test image at that epoch (epoch 0: before the first step), "
        "recomputed in this page from the weights the run stored after that epoch "
        "(weights_history.parquet). Choose any test image below; click any cell to see how "
        "it was computed, as on a run's page.",
        "epoch": "epoch",
        "play": "Play",
        "pause": "Pause",
        "image": "test image",
        "option": "#{index} · {label} (predicted {predicted})",
        "scores": "After epoch {epoch}: train loss {train_loss}, accuracy {train_accuracy}; "
        "test loss {test_loss}, accuracy {test_accuracy} (history.parquet).",
        "votes": "The head's votes for this image at epoch {epoch}: {votes} → {predicted} "
        "(its label: {label}).",
        "shown": "Epoch {epoch}, test image #{index}: recomputed in the page (JavaScript, "
        "float64) in {ms} ms.",
        "kernels_saved": "Its kernels and bias at every epoch: weights_history.parquet; the "
        "final ones: weights.parquet.",
        "images_saved": "Every image, train and test: data.parquet.",
        "not_saved": "Not saved on disk: the page recomputes it.",
    },
    "zh": {
        "epochs_lead": "拖动滑块即可回放训练：所选测试图像在该轮的卷积核与每一张特征图"
        "（第 0 轮为训练开始之前），由本页根据本次运行在该轮之后保存的权重"
        "（weights_history.parquet）重新计算。可在下面选择任意一张测试图像；"
        "点击任意格子即可查看它的计算过程，与运行页面相同。",
        "epoch": "轮次",
        "play": "播放",
        "pause": "暂停",
        "image": "测试图像",
        "option": "#{index} · {label}（预测为 {predicted}）",
        "scores": "第 {epoch} 轮之后：训练集损失 {train_loss}，准确率 {train_accuracy}；"
        "测试集损失 {test_loss}，准确率 {test_accuracy}（history.parquet）。",
        "votes": "分类头在第 {epoch} 轮对这张图像的投票：{votes} → {predicted}（标签：{label}）。",
        "shown": "第 {epoch} 轮、测试图像 #{index}：已在本页中重新计算（JavaScript，float64），"
        "用时 {ms} 毫秒。",
        "kernels_saved": "每一轮的卷积核与偏置：weights_history.parquet；最终的：weights.parquet。",
        "images_saved": "所有图像（训练集与测试集）：data.parquet。",
        "not_saved": "未保存到磁盘：本页重新计算。",
    },
}
