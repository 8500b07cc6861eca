"""Write the self-contained HTML report."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import characteristics, report

declared = characteristics.by_name(snakemake.params.characteristics)
sections = {name: snakemake.input[name] for c in declared for name in c.sections}
report.write_report(snakemake.input.table2, snakemake.input.agreement, snakemake.input.heatmaps, sections, declared,
                    snakemake.params.config, snakemake.output[0])
log.info("wrote %s with sections %s", snakemake.output[0], ", ".join(sections) or "(none)")
