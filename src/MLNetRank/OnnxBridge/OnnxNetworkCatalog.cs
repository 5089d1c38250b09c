using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Onnx;

namespace Microsoft.ML
{
    /// <summary>ONNX network operations of <c>mlContext.Ranker().Transforms</c>.</summary>
    public static class OnnxNetworkCatalog
    {
        /// <summary>
        /// Applies an ONNX network to the columns named like its inputs (or as mapped), producing a column per graph
        /// output, through ML.NET's <c>OnnxTransformer</c> (saved in the model zip; no MLNetRank code needed to load it).
        /// </summary>
        /// <param name="catalog">The MLNetRank transforms.</param>
        /// <param name="model">The ONNX model bytes (e.g. exported from PyTorch with <c>torch.onnx.export</c>).</param>
        /// <param name="inputColumns">Graph input name to the column it reads; null when the names are the column names.</param>
        /// <param name="outputColumns">Graph output name to the column it produces; null to keep the graph's names.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Onnx/OnnxNetworkEstimatorTests.cs</c> (<c>dotnet test</c>); <c>tests/MLNetRank.Tests/Onnx/OnnxFreshProcessTests.cs</c> (<c>dotnet test</c>).</example>
        public static OnnxNetworkEstimator ApplyOnnxNetwork(this RankerCatalog.RankerTransforms catalog, byte[] model,
            IDictionary<string, string>? inputColumns = null, IDictionary<string, string>? outputColumns = null)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new OnnxNetworkEstimator(catalog.Context, new OnnxNetworkEstimator.Options
            {
                Model = model,
                InputColumns = inputColumns ?? new Dictionary<string, string>(),
                OutputColumns = outputColumns ?? new Dictionary<string, string>(),
            });
        }

        /// <summary>
        /// Applies a network with one input and one output, as ML.NET's <c>ApplyOnnxModel(outputColumnName, inputColumnName, ...)</c>:
        /// the graph's input reads <paramref name="inputColumnName"/> and its output becomes <paramref name="outputColumnName"/>,
        /// whatever their names in the graph.
        /// </summary>
        /// <param name="catalog">The MLNetRank transforms.</param>
        /// <param name="outputColumnName">Column produced from the graph's only output.</param>
        /// <param name="inputColumnName">Column the graph's only input reads; null = <paramref name="outputColumnName"/>.</param>
        /// <param name="model">The ONNX model bytes; the graph must have exactly one input (initializers aside) and one output.</param>
        /// <exception cref="ArgumentException">The graph has more or fewer than one input or output.</exception>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Onnx/OnnxNetworkEstimatorTests.cs</c> (<c>dotnet test</c>).</example>
        public static OnnxNetworkEstimator ApplyOnnxNetwork(this RankerCatalog.RankerTransforms catalog, string outputColumnName,
            string? inputColumnName, byte[] model)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            if (string.IsNullOrEmpty(outputColumnName))
                throw new ArgumentException("An output column name is needed.", nameof(outputColumnName));
            if (model is null || model.Length == 0)
                throw new ArgumentException("The ONNX model bytes are empty.", nameof(model));
            var (inputs, outputs) = OnnxModelProto.ReadSignature(model);
            if (inputs.Length != 1 || outputs.Length != 1)
                throw new ArgumentException(
                    $"This overload needs a graph with one input and one output; the graph has inputs [{string.Join(", ", inputs.Select(i => i.Name))}] " +
                    $"and outputs [{string.Join(", ", outputs.Select(o => o.Name))}]: map them with the overload taking inputColumns/outputColumns.", nameof(model));
            return ApplyOnnxNetwork(catalog, model,
                new Dictionary<string, string> { [inputs[0].Name] = inputColumnName ?? outputColumnName },
                new Dictionary<string, string> { [outputs[0].Name] = outputColumnName });
        }

        /// <summary>Applies an ONNX network with the given options (see <see cref="OnnxNetworkEstimator.Options"/>).</summary>
        /// <param name="catalog">The MLNetRank transforms.</param>
        /// <param name="options">Options; <see cref="OnnxNetworkEstimator.Options.Model"/> is required.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Onnx/OnnxNetworkEstimatorTests.cs</c> (<c>dotnet test</c>); <c>tests/MLNetRank.Tests/Onnx/OnnxFreshProcessTests.cs</c> (<c>dotnet test</c>).</example>
        public static OnnxNetworkEstimator ApplyOnnxNetwork(this RankerCatalog.RankerTransforms catalog, OnnxNetworkEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new OnnxNetworkEstimator(catalog.Context, options);
        }
    }
}
