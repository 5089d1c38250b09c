using System;
using System.Collections.Generic;
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

        /// <summary>Applies an ONNX network with the given options (see <see cref="OnnxNetworkEstimator.Options"/>).</summary>
        /// <param name="catalog">The MLNetRank transforms.</param>
        /// <param name="options">Options; <see cref="OnnxNetworkEstimator.Options.Model"/> is required.</param>
        public static OnnxNetworkEstimator ApplyOnnxNetwork(this RankerCatalog.RankerTransforms catalog, OnnxNetworkEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new OnnxNetworkEstimator(catalog.Context, options);
        }
    }
}
