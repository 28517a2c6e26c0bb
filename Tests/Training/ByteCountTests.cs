using TrainManager.Runtime;

namespace TrainManager.Tests.Training;

public sealed class ByteCountTests
{
    [Theory]
    [InlineData(0L, "0 bytes")]
    [InlineData(1L, "1 byte")]
    [InlineData(1023L, "1023 bytes")]
    [InlineData(1024L, "1.0 KiB")]
    [InlineData(28_672L, "28.0 KiB")]
    [InlineData(20L << 20, "20.0 MiB")]
    [InlineData(54_950_048L, "52.4 MiB")]
    [InlineData(3L << 30, "3.0 GiB")]
    public void A_count_is_written_in_the_largest_unit_it_reaches(long bytes, string text) =>
        Assert.Equal(text, ByteCount.Text(bytes));
}
