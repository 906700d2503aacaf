"""Backend ``setfit``: small-text's SetFit integration (contrastive sentence-transformer fine-tuning)."""

import numpy as np
from small_text import LABEL_UNLABELED, TextDataset
from small_text.integrations.transformers import SetFitClassificationFactory, SetFitModelArguments

from common.spec import Backend
from trainer.backends.base import ClassifierBackend
from trainer.backends.models import resolve_model

DEFAULT_MAX_LENGTH = 64


class SetFitBackend(ClassifierBackend):
    """Few-shot friendly: fine-tunes the sentence encoder on pairs, then fits a head."""

    kind = Backend.setfit

    def classifier_factory(self) -> SetFitClassificationFactory:
        model_args = SetFitModelArguments(
            resolve_model(self.model),
            max_length=self.options.max_length or DEFAULT_MAX_LENGTH,
            train_batch_size=self.options.train_batch_size or 16,
            num_epochs=self.options.num_epochs or 1,
            show_progress_bar=False,
            output_dir=str(self.run_dir / "setfit"),
        )
        return SetFitClassificationFactory(
            model_args, self.num_classes, classification_kwargs={"device": self.device}
        )

    def dataset(self, texts: list[str], *, cache: bool = False) -> TextDataset:
        unlabelled = np.full(len(texts), LABEL_UNLABELED, dtype=int)
        return TextDataset.from_arrays(texts, unlabelled, target_labels=self.target_labels)
