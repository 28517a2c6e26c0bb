using TrainManager.Training;

namespace TrainManager.Tests.Training;

public sealed class MetricsLogTests
{
    [Fact]
    public void Batch_records_reach_the_file_within_the_flush_interval_without_waiting_for_the_epoch_end()
    {
        var directory = TrainingFixtures.TempDir();
        try
        {
            using var log = new MetricsLog(directory, append: false, flushInterval: TimeSpan.FromMilliseconds(100));
            log.Batch(epoch: 0, batch: 0, step: 1, loss: 0.5, learningRate: 0.01);
            log.Batch(epoch: 0, batch: 1, step: 2, loss: 0.4, learningRate: 0.01);

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            string[] lines;
            do
            {
                Thread.Sleep(50);
                using var file = new FileStream(Path.Combine(directory, "batches.jsonl"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                lines = new StreamReader(file).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            } while (lines.Length < 2 && DateTime.UtcNow < deadline);

            Assert.Equal(2, lines.Length);
            Assert.Contains("\"step\":2", lines[1]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
