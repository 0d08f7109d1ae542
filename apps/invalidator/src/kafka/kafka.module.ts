import { Module } from '@nestjs/common';
import { MonitoringModule } from '@invalidator/monitoring';
import { DeadLetterPublisher } from './dead-letter.publisher';
import { KAFKA, kafkaProvider } from './kafka.provider';

/** The kafkajs client and the dead-letter topic's producer (the saga's DeadLetterSink). */
@Module({
  imports: [MonitoringModule],
  providers: [kafkaProvider, DeadLetterPublisher],
  exports: [KAFKA, DeadLetterPublisher],
})
export class KafkaModule {}
