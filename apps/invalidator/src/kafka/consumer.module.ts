import { Module } from '@nestjs/common';
import { InvalidationModule } from '@invalidator/invalidation';
import { MonitoringModule } from '@invalidator/monitoring';
import { DeadLetterPublisher } from './dead-letter.publisher';
import { KafkaBatchTransport } from './kafka-batch.transport';
import { KafkaModule } from './kafka.module';

/** The pipeline: Kafka's batches through the saga; exports the saga's use cases too. */
@Module({
  imports: [
    KafkaModule,
    MonitoringModule,
    InvalidationModule.forConsumer({ imports: [KafkaModule], deadLetters: DeadLetterPublisher }),
  ],
  providers: [KafkaBatchTransport],
  exports: [KafkaBatchTransport, InvalidationModule],
})
export class ConsumerModule {}
