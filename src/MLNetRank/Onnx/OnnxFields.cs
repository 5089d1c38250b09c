namespace MLNetRank.Onnx
{
    /// <summary>
    /// Field numbers of the <c>onnx.proto</c> messages MLNetRank reads and writes (ONNX IR 8), named once for the writer
    /// (<see cref="OnnxGraphBuilder"/>) and the reader (<see cref="OnnxModelProto"/>).
    /// </summary>
    internal static class OnnxFields
    {
        // ModelProto
        public const int ModelIrVersion = 1, ModelProducerName = 2, ModelProducerVersion = 3, ModelDocString = 6, ModelGraph = 7,
            ModelOpsetImport = 8, ModelMetadataProps = 14;

        // OperatorSetIdProto, StringStringEntryProto
        public const int OpsetDomain = 1, OpsetVersion = 2, EntryKey = 1, EntryValue = 2;

        // GraphProto
        public const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;

        // NodeProto
        public const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5, NodeDomain = 7;

        // AttributeProto
        public const int AttributeName = 1, AttributeFloat = 2, AttributeInt = 3, AttributeString = 4, AttributeTensor = 5,
            AttributeFloats = 7, AttributeInts = 8, AttributeStrings = 9, AttributeType = 20;

        // TensorProto
        public const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9;

        // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension
        public const int ValueInfoName = 1, ValueInfoType = 2, TypeTensor = 1, TensorTypeElementType = 1, TensorTypeShape = 2,
            ShapeDim = 1, DimValue = 1, DimParam = 2;
    }
}
