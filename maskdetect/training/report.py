"""The training plot: loss and accuracy per epoch."""


def save_training_plot(history, path, stage_boundary=None):
    """Loss and accuracy per epoch, training and validation, side by side; a line where fine-tuning starts.

    Writes ``path`` directly: training writes it to a temporary path with its other outputs.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["loss"]) + 1)
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(11, 4.5))
    for axes, key, title in ((loss_axes, "loss", "Loss"), (accuracy_axes, "accuracy", "Accuracy")):
        axes.plot(epochs, history[key], marker="o", markersize=3, label=f"training {key}")
        axes.plot(epochs, history[f"val_{key}"], marker="o", markersize=3, label=f"validation {key}")
        axes.set_title(f"{title} per epoch")
        axes.set_xlabel("epoch")
        axes.set_ylabel(key)
        if stage_boundary is not None:
            axes.axvline(stage_boundary + 0.5, color="grey", linestyle="--", label="fine-tuning starts")
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle("Mask classifier training")
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")
    plt.close(figure)
