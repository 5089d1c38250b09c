using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// The fitted <see cref="OnnxNetworkEstimator"/>: a thin wrapper over ML.NET's <see cref="OnnxTransformer"/>
    /// (<see cref="Inner"/>). Scoring and saving forward to it, so <c>mlContext.Model.Save</c> writes a plain
    /// <c>OnnxTransform</c> (the ONNX bytes in entry <c>OnnxModel</c>) and <c>mlContext.Model.Load</c> gives the built-in
    /// transformer back, in a process that has no MLNetRank code. Dispose it to release the ONNX Runtime session and
    /// the temporary model file.
    /// </summary>
    public sealed class OnnxNetworkTransformer : ITransformer, IDisposable
    {
        private readonly OnnxModelFile _modelFile;

        internal OnnxNetworkTransformer(OnnxTransformer inner, byte[] model, IReadOnlyList<OnnxTensorSpec> inputs, IReadOnlyList<OnnxTensorSpec> outputs, OnnxModelFile modelFile)
        {
            Inner = inner;
            _model = model;
            Inputs = inputs;
            Outputs = outputs;
            _modelFile = modelFile;
        }

        private readonly byte[] _model;

        /// <summary>The temporary model file the inner transformer reads (null once disposed).</summary>
        internal string? ModelFile => _modelFile.Path;

        /// <summary>The built-in transformer this wraps (what <c>mlContext.Model.Load</c> returns after a save).</summary>
        public OnnxTransformer Inner { get; }

        /// <summary>The ONNX model as applied (adapted to the column names and types); a copy.</summary>
        public byte[] GetModelBytes() => (byte[])_model.Clone();

        /// <summary>The network's inputs, named after the columns they read.</summary>
        public IReadOnlyList<OnnxTensorSpec> Inputs { get; }

        /// <summary>The network's outputs, named after the columns they produce.</summary>
        public IReadOnlyList<OnnxTensorSpec> Outputs { get; }

        /// <inheritdoc/>
        public bool IsRowToRowMapper => ((ITransformer)Inner).IsRowToRowMapper;

        /// <inheritdoc/>
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Inner.GetOutputSchema(inputSchema);

        /// <inheritdoc/>
        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)Inner).GetRowToRowMapper(inputSchema);

        /// <inheritdoc/>
        public IDataView Transform(IDataView input) => Inner.Transform(input);

        /// <summary>Saves the inner <see cref="OnnxTransformer"/> (ML.NET calls this from <c>mlContext.Model.Save</c>).</summary>
        /// <param name="ctx">ML.NET's save context.</param>
        void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)Inner).Save(ctx);

        /// <summary>Releases the ONNX Runtime session and deletes the temporary model file.</summary>
        public void Dispose()
        {
            Inner.Dispose();
            _modelFile.Dispose();
        }
    }
}
