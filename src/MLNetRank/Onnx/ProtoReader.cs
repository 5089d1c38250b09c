using System;
using System.Collections.Generic;
using Google.Protobuf;

namespace MLNetRank.Onnx
{
    /// <summary>One top-level field of a protobuf message, kept raw so that a message can be re-written unchanged.</summary>
    internal readonly struct ProtoField
    {
        public ProtoField(int number, WireFormat.WireType wireType, ulong scalar, ByteString? bytes)
        {
            Number = number;
            WireType = wireType;
            Scalar = scalar;
            Bytes = bytes;
        }

        public int Number { get; }
        public WireFormat.WireType WireType { get; }

        /// <summary>The value of a varint, fixed32 or fixed64 field.</summary>
        public ulong Scalar { get; }

        /// <summary>The payload of a length-delimited field.</summary>
        public ByteString? Bytes { get; }

        public string AsString() => Bytes?.ToStringUtf8() ?? "";

        public void WriteTo(ProtoWriter w)
        {
            switch (WireType)
            {
                case WireFormat.WireType.Varint: w.WriteRawVarint(Number, Scalar); break;
                case WireFormat.WireType.Fixed32: w.WriteRawFixed32(Number, (uint)Scalar); break;
                case WireFormat.WireType.Fixed64: w.WriteRawFixed64(Number, Scalar); break;
                case WireFormat.WireType.LengthDelimited: w.WriteBytes(Number, Bytes!.Memory); break;
                default: throw new InvalidOperationException($"Unsupported protobuf wire type {WireType}.");
            }
        }
    }

    /// <summary>Reads the top-level fields of one protobuf message (enough to inspect and rewrite ONNX models).</summary>
    internal static class ProtoReader
    {
        public static List<ProtoField> Fields(ByteString message) => Fields(message.ToByteArray());

        public static List<ProtoField> Fields(byte[] message)
        {
            var fields = new List<ProtoField>();
            var input = new CodedInputStream(message);
            try
            {
                uint tag;
                while ((tag = input.ReadTag()) != 0)
                {
                    int number = WireFormat.GetTagFieldNumber(tag);
                    var type = WireFormat.GetTagWireType(tag);
                    switch (type)
                    {
                        case WireFormat.WireType.Varint: fields.Add(new ProtoField(number, type, input.ReadUInt64(), null)); break;
                        case WireFormat.WireType.Fixed32: fields.Add(new ProtoField(number, type, input.ReadFixed32(), null)); break;
                        case WireFormat.WireType.Fixed64: fields.Add(new ProtoField(number, type, input.ReadFixed64(), null)); break;
                        case WireFormat.WireType.LengthDelimited: fields.Add(new ProtoField(number, type, 0, input.ReadBytes())); break;
                        default: throw new System.IO.InvalidDataException($"unsupported protobuf wire type {type} in field {number}");
                    }
                }
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new System.IO.InvalidDataException("The bytes are not a valid protobuf message (ONNX model): " + e.Message, e);
            }
            return fields;
        }

        /// <summary>Appends the values of a repeated int64 field, packed or not.</summary>
        public static void ReadInt64s(ProtoField f, List<long> into)
        {
            if (f.WireType == WireFormat.WireType.Varint)
            {
                into.Add((long)f.Scalar);
                return;
            }
            var input = new CodedInputStream(f.Bytes!.ToByteArray());
            while (!input.IsAtEnd)
                into.Add(input.ReadInt64());
        }

        /// <summary>Appends the values of a repeated float field, packed or not.</summary>
        public static void ReadFloats(ProtoField f, List<float> into)
        {
            if (f.WireType == WireFormat.WireType.Fixed32)
            {
                into.Add(BitConverter.Int32BitsToSingle((int)(uint)f.Scalar));
                return;
            }
            var span = f.Bytes!.Span;
            for (int pos = 0; pos + 4 <= span.Length; pos += 4)
                into.Add(System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(span.Slice(pos, 4)));
        }
    }
}
