using System;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLNetRank.Common;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// The one door from ONNX bytes to ML.NET's built-in <see cref="OnnxTransformer"/> (the saved form of every learned
    /// network: the zip stores the bytes in entry <c>OnnxModel</c>, and a fresh process loads it with no MLNetRank code).
    /// The bytes go through <see cref="OnnxTempFiles"/> (ML.NET reads a model file by name), never through
    /// <c>ApplyOnnxModel(Stream)</c>, which leaves its copy behind. Used by <see cref="OnnxNetworkEstimator"/> (and through
    /// it the multi-task trainer and the ensemble) and the GBDT leaf encoder.
    /// </summary>
    internal static class OnnxTransformerFactory
    {
        /// <summary>
        /// An <see cref="OnnxTransformer"/> over <paramref name="model"/> for data of <paramref name="inputSchema"/> (no pass
        /// over data). The returned <paramref name="file"/> must live as long as the transformer may be saved: dispose it
        /// with the transformer.
        /// </summary>
        public static OnnxTransformer Create(MLContext context, byte[] model, string[] outputColumnNames, string[] inputColumnNames,
            DataViewSchema inputSchema, out OnnxModelFile file, int? intraOpNumThreads = null, int? interOpNumThreads = null)
        {
            // every network MLNetRank hands to ML.NET carries its SHA-256 (checked by the request scorer and SavedModelIntegrity)
            model = OnnxDigest.Seal(model);
            var f = OnnxTempFiles.Write(context, model);
            try
            {
                var transformer = context.Transforms.ApplyOnnxModel(Options(f.Path!, outputColumnNames, inputColumnNames, intraOpNumThreads, interOpNumThreads))
                    .Fit(new EmptyDataView(inputSchema));
                file = f;
                return transformer;
            }
            catch
            {
                f.Dispose();
                throw;
            }
        }

        /// <summary>
        /// The output schema ML.NET's <c>OnnxScoringEstimator</c> gives <paramref name="model"/> on <paramref name="inputSchema"/>.
        /// With <paramref name="columns"/> (a concrete schema of the columns the graph reads), the ONNX session the estimator
        /// opened is closed at once; without, it is left to the garbage collector.
        /// </summary>
        public static SchemaShape GetOutputSchema(MLContext context, byte[] model, string[] outputColumnNames, string[] inputColumnNames,
            SchemaShape inputSchema, DataViewSchema? columns = null, int? intraOpNumThreads = null, int? interOpNumThreads = null)
        {
            using var f = OnnxTempFiles.Write(context, model);
            var estimator = context.Transforms.ApplyOnnxModel(Options(f.Path!, outputColumnNames, inputColumnNames, intraOpNumThreads, interOpNumThreads));
            var shape = estimator.GetOutputSchema(inputSchema);
            // Fitting a trivial estimator returns its transformer without reading data: dispose it (ONNX session, file handle).
            if (columns is not null)
                estimator.Fit(new EmptyDataView(columns)).Dispose();
            return shape;
        }

        private static OnnxOptions Options(string path, string[] outputColumnNames, string[] inputColumnNames, int? intraOpNumThreads, int? interOpNumThreads)
            => new OnnxOptions
            {
                ModelFile = path,
                InputColumns = inputColumnNames,
                OutputColumns = outputColumnNames,
                IntraOpNumThreads = intraOpNumThreads,
                InterOpNumThreads = interOpNumThreads,
            };
    }
}
