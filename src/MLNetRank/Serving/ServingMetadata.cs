namespace MLNetRank.Serving
{
    /// <summary>
    /// Keys of an ONNX model's <c>metadata_props</c> that <see cref="RequestScorer"/> honours (any graph may carry them; the
    /// multi-task trainer writes them). Values are comma-separated graph input names.
    /// </summary>
    public static class ServingMetadata
    {
        /// <summary>Variable-length inputs in which the value 0 is padding wherever it stands (the graph masks it and its result
        /// does not depend on where the padding is): the scorer then pads the rows of a request on the left to one length and
        /// runs the request in one call, instead of one call per group of equal lengths.</summary>
        public const string ZeroPaddedInputs = "mlnetrank.zero_padded_inputs";

        /// <summary>Inputs that are the same for every row of a request (a user's behaviour sequence) and that the graph accepts
        /// with one row, broadcast against the others: the scorer feeds them once per request (after checking that the
        /// request's rows agree), so the graph computes their part once.</summary>
        public const string RequestLevelInputs = "mlnetrank.request_level_inputs";
    }
}
