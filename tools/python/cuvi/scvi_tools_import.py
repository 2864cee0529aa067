"""Convert a trained scvi-tools SCVI model into a cuvi model file (.cuvi).

This is how a model trained with scvi-tools is brought into cuvi: the directory written by
``model.save(dir)`` (``model.pt``, optionally with ``adata.h5ad``), or a live model object, becomes
one HDF5 file that every cuvi inference command and ``cuvi.model.SCVI.load`` read. Nothing is
retrained; the weights are copied under scvi-tools' own parameter names. Used by
``cuvi.model.SCVI.from_scvi_tools`` and, as a command, by tools/fixtures/export_scvi_model.py:

    python tools/fixtures/export_scvi_model.py MODEL_DIR OUT.cuvi [--prefix P]
    cuvi de --model OUT.cuvi --data data.h5ad --groupby cell_type --out de.csv

Needs numpy and h5py; reading a saved directory also needs torch. Imports nothing else of cuvi, so
the fixture scripts can load this file on its own.

Format written (read by io/checkpoint.cpp and tools/workflow/scvi_file.cpp):
  /                 attrs cuvi_kind = "cuvi.scvi", cuvi_version = "1"
  /config           string attrs, ScviConfig::to_map() keys (model, n_genes, n_batch, n_labels,
                    n_cats_per_cov, n_continuous_cov, n_hidden, n_latent, n_layers, dropout_rate,
                    dispersion, gene_likelihood, latent_distribution, use_observed_lib_size,
                    encode_covariates, deeply_inject_covariates, use_batch_norm, use_layer_norm,
                    var_eps) and info.* facts about the source
  /weights/<name>   float32, every tensor of the state_dict except num_batches_tracked
                    ('/' in a name is written as %2F)
  /registry/<name>  vlen strings: genes, batch_categories, label_categories,
                    covariate_categories.<k>, setup.{layer, modality, genome, feature_type,
                    batch_key, labels_key, categorical_covariate_keys, continuous_covariate_keys}
  /history/<name>   float64 per-epoch training history (scvi-tools' metric names)

Supported: model SCVI with one-hot batch representation, exp variance activation, no size-factor
key and log_variational=True (the options cuvi's SCVI implements); anything else is refused with
the option named.
"""

from __future__ import annotations

import argparse
import os
import sys

import h5py
import numpy as np

CUVI_KIND = "cuvi.scvi"
CUVI_VERSION = "1"

# scvi VAE defaults for the options cuvi reads (scvi-multivi.md §1.1).
VAE_DEFAULTS = dict(
    n_hidden=128,
    n_latent=10,
    n_layers=1,
    dropout_rate=0.1,
    dispersion="gene",
    gene_likelihood="zinb",
    latent_distribution="normal",
    use_observed_lib_size=True,
    encode_covariates=False,
    deeply_inject_covariates=True,
    use_batch_norm="both",
    use_layer_norm="none",
)
# Options accepted only at these values (cuvi implements nothing else).
FIXED = dict(
    log_variational=True,
    batch_representation="one-hot",
    var_activation=None,
    use_size_factor_key=False,
)


def _flag(v) -> str:
    return "1" if bool(v) else "0"


def _text(v) -> str:
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def model_config(attr_dict: dict, n_genes: int) -> dict[str, str]:
    """cuvi's ScviConfig map from scvi-tools' saved init parameters and registry."""
    registry = attr_dict["registry_"]
    name = registry.get("model_name", "SCVI")
    if name != "SCVI":
        raise ValueError(f"scvi-tools model: model '{name}' is not supported (only SCVI)")
    init = attr_dict["init_params_"]
    params = dict(init.get("non_kwargs", {}))
    extra = dict(init.get("kwargs", {}).get("kwargs", {}))
    params.update(extra)
    var_eps = 1e-4
    enc = params.pop("extra_encoder_kwargs", None) or {}
    for k, v in enc.items():
        if k == "var_eps":
            var_eps = float(v)
        elif k == "var_activation" and v is None:
            pass
        else:
            raise ValueError(f"scvi-tools model: extra_encoder_kwargs '{k}' is not supported")
    if params.pop("extra_decoder_kwargs", None):
        raise ValueError("scvi-tools model: extra_decoder_kwargs are not supported")
    for k, v in FIXED.items():
        if k in params and params.pop(k) != v:
            raise ValueError(f"scvi-tools model: option {k} must be {v!r} for cuvi")
    unknown = sorted(set(params) - set(VAE_DEFAULTS))
    if unknown:
        raise ValueError(f"scvi-tools model: unsupported SCVI options {unknown}")
    cfg = dict(VAE_DEFAULTS)
    cfg.update(params)
    if cfg["gene_likelihood"] not in ("zinb", "nb", "poisson"):
        raise ValueError(f"scvi-tools model: gene_likelihood '{cfg['gene_likelihood']}' is not supported")
    ub, ul = cfg["use_batch_norm"], cfg["use_layer_norm"]
    cfg["use_batch_norm"] = {True: "both", False: "none"}.get(ub, ub)
    cfg["use_layer_norm"] = {True: "both", False: "none"}.get(ul, ul)

    fields = registry["field_registries"]
    setup = registry["setup_args"]
    if setup.get("size_factor_key"):
        raise ValueError("scvi-tools model: models set up with size_factor_key are not supported")
    n_batch = len(fields["batch"]["state_registry"]["categorical_mapping"])
    n_labels = len(fields["labels"]["state_registry"]["categorical_mapping"])
    cat_state = fields.get("extra_categorical_covs", {}).get("state_registry", {})
    n_cats = [int(n) for n in cat_state.get("n_cats_per_key", [])]
    cont_state = fields.get("extra_continuous_covs", {}).get("state_registry", {})
    n_cont = len(cont_state.get("columns", [])) if cont_state else 0
    return {
        "model": "SCVI",
        "n_genes": str(n_genes),
        "n_batch": str(n_batch),
        "n_labels": str(n_labels),
        "n_cats_per_cov": ",".join(str(n) for n in n_cats),
        "n_continuous_cov": str(n_cont),
        "n_hidden": str(int(cfg["n_hidden"])),
        "n_latent": str(int(cfg["n_latent"])),
        "n_layers": str(int(cfg["n_layers"])),
        "dropout_rate": _text(float(cfg["dropout_rate"])),
        "dispersion": cfg["dispersion"],
        "gene_likelihood": cfg["gene_likelihood"],
        "latent_distribution": cfg["latent_distribution"],
        "use_observed_lib_size": _flag(cfg["use_observed_lib_size"]),
        "encode_covariates": _flag(cfg["encode_covariates"]),
        "deeply_inject_covariates": _flag(cfg["deeply_inject_covariates"]),
        "use_batch_norm": cfg["use_batch_norm"],
        "use_layer_norm": cfg["use_layer_norm"],
        "var_eps": _text(var_eps),
    }


def model_registry(attr_dict: dict, var_names) -> dict[str, list[str]]:
    """The /registry string lists cuvi keeps: genes, categories and setup keys."""
    registry = attr_dict["registry_"]
    fields = registry["field_registries"]
    setup = registry["setup_args"]
    strs = lambda xs: [_text(x) for x in xs]  # noqa: E731
    out = {
        "genes": strs(var_names),
        "batch_categories": strs(fields["batch"]["state_registry"]["categorical_mapping"]),
        "label_categories": strs(fields["labels"]["state_registry"]["categorical_mapping"]),
    }
    cat_state = fields.get("extra_categorical_covs", {}).get("state_registry", {})
    cat_keys = list(cat_state.get("field_keys", []) or [])
    for k, key in enumerate(cat_keys):
        out[f"covariate_categories.{k}"] = strs(cat_state["mappings"][key])
    cont_keys = list(setup.get("continuous_covariate_keys") or [])
    out.update({
        "setup.layer": [setup.get("layer") or ""],
        "setup.modality": [""],
        "setup.genome": [""],
        "setup.feature_type": [""],
        "setup.batch_key": [setup.get("batch_key") or ""],
        "setup.labels_key": [setup.get("labels_key") or ""],
        "setup.categorical_covariate_keys": [str(k) for k in cat_keys],
        "setup.continuous_covariate_keys": [str(k) for k in cont_keys],
    })
    return out


def write_cuvi_model(path: str, config: dict, weights: dict, registry: dict, history: dict,
                     info: dict | None = None, kind: str = CUVI_KIND) -> None:
    """Writes the HDF5 layout io/checkpoint.cpp reads, via a temporary file renamed at the end."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with h5py.File(tmp, "w", libver=("earliest", "v110")) as f:
        f.attrs["cuvi_kind"] = kind
        f.attrs["cuvi_version"] = CUVI_VERSION
        cfg = f.create_group("config")
        for k, v in config.items():
            cfg.attrs[k] = str(v)
        for k, v in (info or {}).items():
            cfg.attrs["info." + k] = str(v)
        w = f.create_group("weights")
        for name, t in weights.items():
            w.create_dataset(name.replace("/", "%2F"), data=np.asarray(t, dtype=np.float32))
        r = f.create_group("registry")
        st = h5py.string_dtype("utf-8")
        for name, values in registry.items():
            r.create_dataset(name.replace("/", "%2F"), data=np.array(values, dtype=object), dtype=st,
                             shape=(len(values),))
        h = f.create_group("history")
        for name, values in history.items():
            h.create_dataset(name.replace("/", "%2F"), data=np.asarray(values, dtype=np.float64))
    os.replace(tmp, path)


def export_saved(state_dict: dict, var_names, attr_dict: dict, out: str, source: str = "") -> None:
    """Exports already-loaded save files (model_state_dict, var_names, attr_dict)."""
    var_names = [str(v) for v in var_names]
    config = model_config(attr_dict, len(var_names))
    weights = {}
    for k, v in state_dict.items():
        if not hasattr(v, "detach") or k.endswith("num_batches_tracked"):
            continue  # pyro_param_store and BatchNorm step counters (torch tensors have detach)
        weights[k] = v.detach().cpu().numpy().astype(np.float32)
    history = {}
    for k, df in (attr_dict.get("history_") or {}).items():
        vals = np.asarray(df).astype(np.float64).ravel()
        history[k] = vals
    registry = model_registry(attr_dict, var_names)
    info = {
        "source": source or "scvi-tools model",
        "scvi_version": attr_dict["registry_"].get("scvi_version", ""),
        "exported_by": "cuvi.scvi_tools_import",
    }
    epochs = len(next(iter(history.values()))) if history else 0
    if epochs:
        info["epochs"] = str(epochs)
    write_cuvi_model(out, config, weights, registry, history, info)


def export_model_dir(model_dir: str, out: str, prefix: str | None = None) -> None:
    """Exports the directory written by scvi-tools' ``model.save(model_dir)`` (needs torch)."""
    path = os.path.join(model_dir, f"{prefix or ''}model.pt")
    if not os.path.exists(path):
        raise ValueError(f"scvi-tools model: {path} not found (expected a directory written by model.save())")
    try:
        import torch
    except ImportError as e:
        raise ImportError("reading a saved scvi-tools model needs torch (pip install torch)") from e
    saved = torch.load(path, map_location="cpu", weights_only=False)
    export_saved(saved["model_state_dict"], saved["var_names"], saved["attr_dict"], out, source=model_dir)


def export_model(model, out: str) -> None:
    """Exports a live scvi-tools model object, with the attributes its ``save()`` would write."""
    var_names = model.get_var_names() if hasattr(model, "get_var_names") else model.adata.var_names
    attr_dict = {name: value for name, value in model._get_user_attributes() if name[-1] == "_"}
    export_saved(model.module.state_dict(), var_names, attr_dict, out, source=type(model).__name__ + " object")


def main(argv: list[str]) -> int:
    """The command line of tools/fixtures/export_scvi_model.py."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="directory written by scvi-tools' model.save()")
    ap.add_argument("out", help="cuvi model file to write")
    ap.add_argument("--prefix", default=None, help="file-name prefix given to model.save(prefix=...)")
    args = ap.parse_args(argv)
    try:
        export_model_dir(args.model_dir, args.out, args.prefix)
    except ValueError as e:
        print(f"export_scvi_model: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
