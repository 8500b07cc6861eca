"""Deep-kNN OOD detection on the challenge set with one fine-tuned model, at every K."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import data, ood

vectors = data.read_arrays(snakemake.input[0])
result = ood.detect(vectors["train"], vectors["test"], vectors["challenge"], vectors["challenge_ids"].tolist(),
                    snakemake.params.ks)
flagged = {str(k): r.pop("flagged") for k, r in result.items()}  # what is left describes the detector
data.write_json(flagged, snakemake.output.flagged)
detector = {"tpr": ood.TPR, "train_features": len(vectors["train"]), "heldout": len(vectors["test"]),
            "challenge": len(vectors["challenge"]), "k": {str(k): r for k, r in result.items()}}
data.write_json(detector, snakemake.output.detector)
for k, r in result.items():
    log.info("K=%d: threshold %.4f, FPR at %.0f%% TPR %.3f, AUROC %.3f", k, r["threshold"], 100 * ood.TPR,
             r["fpr_at_tpr"], r["auroc"])
